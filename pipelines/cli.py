"""``sewershare`` commands, thin over the Dagster definitions and the sample generator."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipelines.home import DataHome


def _has_files(folder: Path) -> bool:
    return folder.exists() and any(p.is_file() for p in folder.rglob("*"))


def cmd_setup(args: argparse.Namespace) -> int:
    """Install the DuckDB extensions from the pinned wheels and parse the dbt project."""
    from pipelines import duck
    from pipelines.transform.project import prepare_dbt_project

    duck.install_extensions()
    prepare_dbt_project()
    print("sewershare: 环境就绪 (environment ready)")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from pipelines.sample import generate

    home = DataHome.resolve(args.home).ensure()
    truth = generate(home.root, scale=args.scale, seed=args.seed, progress=True, force=args.force)
    print(f"sewershare: 已生成样例数据 {len(truth['files'])} 个文件 → {home.landing}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    home = DataHome.resolve(args.home).ensure()
    if not args.no_sample and not _has_files(home.landing) and not _has_files(home.archive):
        from pipelines.sample import generate

        print(f"sewershare: landing 为空，生成内置样例数据 (scale={args.sample_scale}, seed={args.sample_seed})")
        generate(home.root, scale=args.sample_scale, seed=args.sample_seed, progress=True)
    from pipelines.main_job import run_main_job

    return run_main_job(home, full=args.full)


def dagster_env(home: DataHome) -> dict[str, str]:
    """The environment of Dagster processes for ``home``: its persistent instance and its data."""
    from pipelines.operations.instance import ensure_instance

    return {**os.environ, "DAGSTER_HOME": str(ensure_instance(home)), "SEWERSHARE_HOME": str(home.root)}


def cmd_dagster(args: argparse.Namespace) -> int:
    """The Dagster UI and daemon (``dagster dev``) on the data home's persistent instance: every run of
    ``sewershare run``, of the sensors and of the schedule, and the switches of sensors and schedules."""
    from pipelines.home import REPO_ROOT

    home = DataHome.resolve(args.home).ensure()
    command = [str(Path(sys.executable).with_name("dagster")), "dev", "-w", str(REPO_ROOT / "workspace.yaml"),
               "-h", args.host, "-p", str(args.port)]
    print(f"sewershare: Dagster 界面 http://{args.host}:{args.port} （实例 instance: {home.dagster}）", flush=True)
    os.chdir(REPO_ROOT)
    os.execve(command[0], command, dagster_env(home))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sewershare", description="台州市污水管网数据共享仓库 sewershare")
    parser.add_argument("--home", help="data home (default: $SEWERSHARE_HOME or ./data)")
    sub = parser.add_subparsers(dest="command", required=True)

    setup = sub.add_parser("setup", help="install DuckDB extensions from wheels and parse the dbt project")
    setup.set_defaults(func=cmd_setup)

    sample = sub.add_parser("sample", help="write the sample bureau exports into landing/")
    sample.add_argument("--home", default=argparse.SUPPRESS)
    sample.add_argument("--scale", type=float, default=0.01)
    sample.add_argument("--seed", type=int, default=42)
    sample.add_argument("--force", action="store_true", help="overwrite a non-empty landing folder")
    sample.set_defaults(func=cmd_sample)

    run = sub.add_parser("run", help="run what changed in-process (new files, due models): ingest, dbt, "
                                     "quality gate, publish")
    run.add_argument("--home", default=argparse.SUPPRESS)
    run.add_argument("--sample-scale", type=float, default=0.01,
                     help="scale of the sample generated when landing/ and archive/ are empty")
    run.add_argument("--sample-seed", type=int, default=42)
    run.add_argument("--no-sample", action="store_true", help="never generate the sample")
    run.add_argument("--full", action="store_true",
                     help="rebuild every model and re-run every check, not only what changed")
    run.set_defaults(func=cmd_run)

    dagster = sub.add_parser("dagster", help="Dagster UI + daemon (dagster dev) on the data home's instance")
    dagster.add_argument("--home", default=argparse.SUPPRESS)
    dagster.add_argument("--host", default="127.0.0.1")
    dagster.add_argument("--port", type=int, default=3000)
    dagster.set_defaults(func=cmd_dagster)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "home", None):
        os.environ["SEWERSHARE_HOME"] = str(Path(args.home).resolve())
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
