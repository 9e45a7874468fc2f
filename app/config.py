"""Service settings, read from ``CHRONICLE_*`` environment variables."""

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the service can be told. Build once (in the CLI or a test) and pass down."""

    model_config = SettingsConfigDict(env_prefix="CHRONICLE_", env_file=None, extra="ignore")

    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL. Unset: start an embedded PostgreSQL in data_dir.",
    )
    data_dir: Path = Field(
        default=Path(".chronicle"),
        description="Where the embedded PostgreSQL keeps its data (without database_url).",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(
        default=1, ge=1, description="Server processes sharing the port (`serve --workers`)."
    )
    log_level: str = "info"
    log_json: bool = True

    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=20, ge=1)

    max_event_bytes: int = Field(
        default=1024 * 1024, ge=1, description="Largest data + metadata of one event, in bytes."
    )
    max_events_per_publish: int = Field(default=1000, ge=1)
    max_request_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1, description="Largest HTTP request body, in bytes."
    )
    max_page_size: int = Field(default=1000, ge=1)

    ws_ping_interval: float = Field(
        default=20.0, gt=0, description="Seconds between the hub's keep-alive pings."
    )
    ws_pong_timeout: float = Field(
        default=20.0, gt=0, description="Seconds a client has to answer a ping before it is closed."
    )
    ws_max_frame_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1, description="Largest client frame; larger ones close 1009."
    )
    ws_send_queue_size: int = Field(
        default=256, ge=1, description="Data frames buffered per connection before calls wait."
    )
    ws_control_queue_size: int = Field(
        default=1024,
        ge=1,
        description="Replies (pong, ack, error) buffered before a client that "
        "stopped reading is dropped.",
    )
    ws_subscription_page_size: int = Field(
        default=200,
        ge=1,
        description="Events a subscription reads from the database at a time, at first: "
        "pages double while they come back full, up to ws_subscription_max_page_size.",
    )
    ws_subscription_max_page_size: int = Field(
        default=1000,
        ge=1,
        description="The most events a catching-up subscription reads at a time (it holds "
        "two such pages: one being sent, the next being read).",
    )
    ws_subscription_live_buffer: int = Field(
        default=1024,
        ge=1,
        description="New events held for one live subscription; past "
        "that it is behind and catches up from the database.",
    )
    ws_subscription_poll_interval: float = Field(
        default=5.0,
        gt=0,
        description="Seconds the shared live reader waits for a NOTIFY before "
        "re-reading anyway (covers notifications lost while the listener reconnects).",
    )

    persistent_consumer_lease: float = Field(
        default=15.0,
        gt=0,
        description="Seconds a persistent-subscription consumer stays in its group when its "
        "server stops renewing it (a crashed process); renewed every third of it.",
    )
    persistent_buffer_size: int = Field(
        default=500,
        ge=1,
        description="Events a persistent subscription reads ahead of its consumers, per group.",
    )

    retention_interval: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between the scavenger's passes, which remove the events that "
        "stream retention and deletes already hide from readers.",
    )
    retention_batch_size: int = Field(
        default=1000, ge=1, description="Most events the scavenger removes in one statement."
    )

    auth_enabled: bool = Field(
        default=True,
        description="Require an API key or username/password on every endpoint but /health. "
        "false: everyone is an anonymous server admin (local experiments only).",
    )
    admin_key: SecretStr | None = Field(
        default=None,
        description="A server admin key (chr_<16 hex>_<43 chars>, `chronicle keygen`) that is "
        "stored for the principal `admin` at start. Unset: the first start generates one and "
        "prints it once.",
    )
    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Seconds a verified key or password is trusted without asking the "
        "database again; a revocation reaches other server processes within this time.",
    )
    ws_auth_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a WebSocket may stay open without credentials."
    )
    ws_max_calls: int = Field(
        default=100, ge=1, description="Calls open at once on one WebSocket connection."
    )
    ws_max_subscriptions: int = Field(
        default=20, ge=1, description="Subscriptions open at once on one WebSocket connection."
    )
    ws_max_connections_per_principal: int = Field(
        default=100, ge=1, description="WebSocket connections one principal may hold at once."
    )

    @field_validator("admin_key", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        # compose's ${CHRONICLE_ADMIN_KEY:-} passes an empty string for "not set".
        return None if value == "" else value

    def database_dsn(self) -> str:
        """The plain libpq/asyncpg URL; only valid once a database URL is known."""
        if self.database_url is None:
            raise RuntimeError("no database URL: start the embedded PostgreSQL first")
        return self.database_url.get_secret_value()
