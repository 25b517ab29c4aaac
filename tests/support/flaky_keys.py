"""The Redis keys the flaky receiver (flaky_receiver_urls) counts its deliveries under."""
ATTEMPTS_KEY, DONE_KEY = "test:flaky:attempts", "test:flaky:done"
