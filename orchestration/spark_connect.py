"""The Spark engine through a Spark Connect server (issue 21: "a cluster via a master URL or Spark
Connect from the environment").

dbt-spark's ``session`` method opens its session with ``SparkSession.builder ... getOrCreate()``.
PySpark 4 makes that a Spark Connect session when ``SPARK_REMOTE`` (``sc://host:port``) is set in
the environment, which the dbt subprocess inherits: ``SPARK_REMOTE=sc://host:15002
METERLINE_ENGINE=spark meterline run`` builds every model on the server, with no JVM in the
client. What a Connect session cannot set, the server must hold: the *static* settings of the
profile's Spark target (the warehouse directory and the metastore the marts are read back from,
the Hive catalog dbt-spark asks for). The SQL settings money depends on (ANSI, exact decimals, the
UTC session time zone, literal strings) are runtime settings: dbt-spark sends them with every
session it opens and Spark Connect applies them to that session; the server gets them too, so a
client that forgets them still computes the same numbers.

``meterline spark-connect`` starts such a server for a data directory in the foreground (the
PySpark wheel ships the Spark Connect jar; Java 17 as for the in-process engine). The server and
``meterline run`` must see the same files: the lake (``<data_dir>/lake``) the raw tables are read
from and the Spark directory the marts are written to; on one machine that holds by itself, on a
cluster those paths live on shared storage.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from orchestration.config import DBT_PROJECT_DIR, Settings, spark_master

DEFAULT_PORT = 15002
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


def profile_spark_parameters(s: Settings) -> dict[str, str]:
    """The Spark target's ``server_side_parameters`` (dbt_project/profiles.yml, the one
    definition), rendered as dbt renders them for ``s`` (its ``env_var`` calls read the
    environment ``Settings.dbt_env`` gives the dbt subprocess)."""
    import jinja2
    import yaml

    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    params: dict[str, Any] = profile["meterline"]["outputs"]["spark"]["server_side_parameters"]
    env = s.dbt_env()

    def env_var(name: str, default: str | None = None) -> str:
        value = env.get(name, default)
        if value is None:
            raise KeyError(f"profiles.yml needs the environment variable {name}")
        return value

    jinja = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return {k: jinja.from_string(str(v)).render(env_var=env_var) for k, v in params.items()}


def server_settings(s: Settings, port: int = DEFAULT_PORT) -> dict[str, str]:
    """The settings of a Spark Connect server for the data directory of ``s``: the profile's
    Spark parameters (static ones included), the Hive catalog and the port."""
    conf = profile_spark_parameters(s)
    conf["spark.app.name"] = "meterline-spark-connect"
    conf["spark.sql.catalogImplementation"] = "hive"  # dbt-spark's enableHiveSupport()
    conf["spark.connect.grpc.binding.port"] = str(port)
    return conf


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def server_command(s: Settings, port: int = DEFAULT_PORT) -> list[str]:
    """``spark-submit`` of the Spark Connect server (what sbin/start-connect-server.sh runs,
    without its daemon wrapper: the process stays in the foreground and stops with its
    parent)."""
    conf = server_settings(s, port)
    command = [str(spark_home() / "bin" / "spark-submit"), "--class", SERVER_CLASS]
    command += ["--master", spark_master()]
    command += ["--driver-memory", conf.pop("spark.driver.memory")]
    command += ["--driver-java-options", conf.pop("spark.driver.extraJavaOptions")]
    for key, value in sorted(conf.items()):
        command += ["--conf", f"{key}={value}"]
    return command


def server_environment() -> dict[str, str]:
    """This process's environment without what would make the server a Connect client."""
    drop = ("SPARK_REMOTE", "SPARK_CONNECT_MODE", "MASTER")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["SPARK_HOME"] = str(spark_home())
    return env


def start_server(
    s: Settings, port: int = DEFAULT_PORT, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a local Spark Connect server for ``s`` (the caller stops it); its output goes to
    ``log`` (default ``<spark dir>/connect-server.log``)."""
    s.spark_dir.mkdir(parents=True, exist_ok=True)
    log = log or s.spark_dir / "connect-server.log"
    with log.open("ab") as out:
        return subprocess.Popen(
            server_command(s, port),
            env=server_environment(),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(s.spark_dir),
            start_new_session=True,
        )


def wait_until_serving(
    port: int, process: subprocess.Popen[bytes] | None = None, timeout: float = 180.0
) -> None:
    """Return when the server accepts connections on ``port``; raise when ``process`` ended or
    ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the Spark Connect server exited ({process.returncode})")
        with socket.socket() as sock:
            sock.settimeout(1.0)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"no Spark Connect server on port {port} after {timeout:.0f} s")


def remote_url(port: int = DEFAULT_PORT, host: str = "localhost") -> str:
    return f"sc://{host}:{port}"
