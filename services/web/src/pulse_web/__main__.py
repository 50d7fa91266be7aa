"""``python -m pulse_web``: validate configuration, then serve with uvicorn until SIGTERM
(uvicorn stops accepting, finishes in-flight requests, then exits)."""

from __future__ import annotations

import sys

import uvicorn
from pulse_common.config import ConfigError
from pulse_common.event_loop import loop_name
from pulse_common.logging_setup import configure_logging

from pulse_web.app import create_app
from pulse_web.config import load_web_config


def main() -> None:
    try:
        web_config = load_web_config()
        loop = loop_name(web_config.settings.extra)  # uvloop unless PULSE_EVENT_LOOP=asyncio
    except ConfigError as error:
        print(f"pulse-web: configuration error: {error.message}", file=sys.stderr)
        raise SystemExit(2) from None
    settings = web_config.settings
    configure_logging("web", settings.log_level, settings.log_json)
    host, _, port = settings.web_addr.rpartition(":")
    config = uvicorn.Config(
        create_app(web_config),
        host=host,
        port=int(port),
        loop=loop,
        log_config=None,  # keep pulse_common's handler
        access_log=False,  # access logs would record survey tokens in paths
        proxy_headers=False,
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace_s)),
    )
    print(f"web listening on http://{settings.web_addr}", file=sys.stderr, flush=True)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
