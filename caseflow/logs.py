"""structlog setup: JSON lines outside a terminal (Chinese kept readable), pretty on one."""

from __future__ import annotations

import json
import logging
import sys

import structlog


def _dumps(value: object, **kwargs: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def configure_logging(log_format: str = "auto", level: str = "INFO") -> None:
    pretty = log_format == "console" or (log_format == "auto" and sys.stderr.isatty())
    renderer = (structlog.dev.ConsoleRenderer() if pretty
                else structlog.processors.JSONRenderer(serializer=_dumps))
    processors = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        foreign_pre_chain=processors))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("alembic", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
