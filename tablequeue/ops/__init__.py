"""Operations: metrics, logs, health, the mail sender."""
