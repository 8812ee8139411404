"""Between workers and hosts: the Redis relay, its codec, resyncs."""
