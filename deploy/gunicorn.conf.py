"""gunicorn settings, all from the environment (one image for every slice).

Shutdown on SIGTERM (what a balancer needs): every worker turns ``/health`` to 503 ("draining") and keeps
serving for ``GUNICORN_DRAIN_SECONDS``, so a health-checking balancer (ALB, Kubernetes) stops sending; then it
stops accepting, closes its listening socket (new connections are refused, which nginx retries on another
server for any method) and finishes the requests in flight. ``graceful_timeout`` bounds the whole.
"""
import atexit
import os
import shutil
import signal
import tempfile
import threading

from gunicorn import glogging


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, "") or default)


bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}")  # noqa: S104
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("GUNICORN_THREADS", 1)  # >1 selects the gthread worker; sync has the better p99 here
timeout = _int("GUNICORN_TIMEOUT", 30)
keepalive = 5
# gunicorn's largest request line and header line (its line limit defaults to 4094): the gateway refuses anything
# longer itself, with the JSON envelope (large_client_header_buffers 4 8k), so no URL it lets through meets
# gunicorn's HTML 414 page.
limit_request_line = 8190
limit_request_field_size = 8190
drain_seconds = float(os.environ.get("GUNICORN_DRAIN_SECONDS", "") or 0)
# Room for the drain window plus one full request that started just before it ended.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", int(drain_seconds) + timeout)
# Recycle workers now and then (slow leaks), jittered so they do not all restart at once. Not without Redis
# (REDIS_ENABLED=false, one process): the worker's memory then holds the revoked tokens and rate-limit counters,
# and a recycled worker would forget them (a logged-out token would work again); on_starting refuses both.
_redis_enabled = os.environ.get("REDIS_ENABLED", "").strip().lower() in {"1", "true", "yes", "on"}
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000 if _redis_enabled else 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 500)
# The proxies whose X-Forwarded-* gunicorn believes: the same list the app uses for client IPs.
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES", "") or "127.0.0.1,::1"
# Worker heartbeat files on tmpfs: on a disk-backed overlay an fchmod per request can stall on I/O.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or ("/dev/shm" if os.path.isdir("/dev/shm") else None)  # noqa: S108
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
errorlog = "-"
# The app already writes one JSON access line per request, with request id and duration
# (tradesignals.kernel.middleware.AccessLogMiddleware); gunicorn's own line would double the volume and
# cost per request. GUNICORN_ACCESS_LOG=true adds it (JSON too), e.g. to see time spent writing responses.
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "").lower() in {"1", "true", "yes", "on"} else None
# gunicorn's control socket defaults to one fixed path in $HOME; several instances on one host would
# fight over it, and nothing here uses it.
control_socket_disable = True


# Prometheus multiprocess mode: every worker writes its samples under one directory that /metrics merges.
# Set before any worker imports prometheus_client; emptied when the master starts. A directory made here
# (PROMETHEUS_MULTIPROC_DIR unset, as in ``make run``) is removed when the master exits, however it exits: at
# interpreter exit rather than in gunicorn's on_exit hook, which a failed start (a refused configuration, a
# port in use) or a crashed main loop never reaches. One given through the environment belongs to its giver.
_made_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _made_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ts-metrics-")
_master_pid = os.getpid()


def _remove_made_metrics_dir() -> None:
    # Workers are forks of the master and run exit handlers too; only the master removes the directory. A
    # re-exec'd master (USR2) starts from gunicorn's original environment, so it makes its own.
    if _made_metrics_dir and os.getpid() == _master_pid:
        shutil.rmtree(_made_metrics_dir, ignore_errors=True)


atexit.register(_remove_made_metrics_dir)


def _refuse_process_local_security_state(cfg) -> None:
    """settings.prod refuses REDIS_ENABLED=false unless WEB_CONCURRENCY=1, but gunicorn's worker count and
    recycling can also come from GUNICORN_CMD_ARGS or the command line, and those win. Here the values are the
    ones gunicorn will really use: more than one worker, or a recycled one, would forget or split the revocations
    that then live in the worker's memory."""
    production = os.environ.get("DJANGO_SETTINGS_MODULE", "settings.prod") == "settings.prod"
    if not production or _redis_enabled:
        return
    problems = []
    if cfg.workers != 1:
        problems.append(f"{cfg.workers} gunicorn workers")
    if cfg.max_requests:
        problems.append(f"workers recycled after {cfg.max_requests} requests (GUNICORN_MAX_REQUESTS)")
    if problems:
        raise SystemExit(
            "REDIS_ENABLED=false keeps revoked tokens and rate-limit counters in the worker's memory, so it needs "
            f"exactly one worker that is never recycled; this gunicorn has {' and '.join(problems)}. Set "
            "REDIS_ENABLED=true with a shared Redis, or run one worker (--workers 1) with GUNICORN_MAX_REQUESTS=0."
        )


def on_starting(server):
    global _master_pid
    _master_pid = os.getpid()  # with --daemon the master is a fork of the process that read this file
    _refuse_process_local_security_state(server.cfg)
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class JsonLogger(glogging.Logger):
    """gunicorn's own lines (boot, worker exits, timeouts) in the app's JSON format, one per line."""

    def setup(self, cfg):
        super().setup(cfg)
        from tradesignals.kernel.logging import JsonFormatter

        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time):
        if not self.cfg.accesslog:
            return
        self.access_log.info("gunicorn access", extra={
            "method": req.method,
            "path": req.path,
            "status": getattr(resp, "status_code", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "request_id": dict(resp.headers).get("X-Request-ID") if resp else None,
            "pid": os.getpid(),
        })


logger_class = JsonLogger


def pre_request(worker, req):
    worker.ts_busy = True


def post_request(worker, req, environ, resp):
    worker.ts_busy = False


def _stop_accepting(worker, stop, sig) -> None:
    """End of the drain window: leave the accept loop and let the listening socket close."""
    from gunicorn.workers.sync import SyncWorker

    stop(sig, None)  # alive = False (the gthread worker also wakes its poller)
    # A sync worker busy with a request does not touch its listeners again (it checks ``alive`` first), so
    # closing them now lets the kernel refuse new connections instead of queueing them until we exit.
    if isinstance(worker, SyncWorker) and getattr(worker, "ts_busy", False):
        for listener in worker.sockets:
            listener.close()
    try:
        os.write(worker.PIPE[1], b".")  # wake an idle sync worker out of select()
    except OSError:
        pass


def post_worker_init(worker):
    """Replace the worker's SIGTERM handler (gunicorn stops accepting at once) with drain-then-stop;
    with the in-process bus, start the outbox relay thread (retries of handlers that failed after commit)."""
    from tradesignals.kernel.events import relay

    relay.start_in_background()
    worker.ts_busy = False
    stop = worker.handle_exit
    started = threading.Event()

    def on_sigterm(sig, frame):
        if started.is_set():
            return
        started.set()
        from tradesignals.kernel import health

        health.start_draining()
        relay.stop_background()
        worker.log.info("SIGTERM: draining for %.1fs, then finishing in-flight requests", drain_seconds)
        if drain_seconds <= 0:
            _stop_accepting(worker, stop, sig)
            return
        timer = threading.Timer(drain_seconds, _stop_accepting, args=(worker, stop, sig))
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.siginterrupt(signal.SIGTERM, False)


def worker_abort(worker):
    worker.log.warning("worker aborted (timeout)")

