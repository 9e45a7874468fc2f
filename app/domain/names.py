"""The shapes of chronicle and stream names, checked by the wire models at every edge."""

CHRONICLE_NAME_PATTERN = r"^[A-Za-z0-9_.\-]{1,128}$"
# Streams also allow ':' and '@' so ids like "order:42" or "user@host" fit as they are.
STREAM_NAME_PATTERN = r"^[A-Za-z0-9_.:@\-]{1,200}$"
# Principals (users and services) may be e-mail addresses, hence '@'.
PRINCIPAL_NAME_PATTERN = r"^[A-Za-z0-9_.@\-]{1,128}$"
