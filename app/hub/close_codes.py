"""WebSocket close codes the hub uses, and why."""

GOING_AWAY = 1001  # server shutting down
UNSUPPORTED_DATA = 1003  # a binary frame: the protocol is JSON text
INVALID_PAYLOAD = 1007  # a text frame that is not JSON
POLICY_VIOLATION = 1008  # the client stopped reading its replies
MESSAGE_TOO_BIG = 1009  # a frame over ws_max_frame_bytes
INTERNAL_ERROR = 1011  # a bug in the hub; logged
UNAUTHENTICATED = 4401  # private range: no or wrong credentials (like HTTP 401)
PONG_TIMEOUT = 4408  # private range: no pong in time (like HTTP 408)
TOO_MANY_CONNECTIONS = 4429  # private range: the principal's connection cap (like HTTP 429)
