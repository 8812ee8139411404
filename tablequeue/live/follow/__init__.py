"""The visitor's phone: /ws/visitor, the per-worker hub, the kiosk's link."""
