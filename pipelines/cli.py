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
    from pipelines.runner import run_main_job

    return run_main_job(home, reporting_date=args.reporting_date)


def cmd_ack(args: argparse.Namespace) -> int:
    """Acknowledge alerts: a CSV into landing/alert_acks/, loaded by the next run like every delivery."""
    from pipelines.report.acks import write_acknowledgement

    home = DataHome.resolve(args.home).ensure()
    path = write_acknowledgement(home, args.alert_keys, by=args.by, on=args.on, action=args.action,
                                 remarks=args.remarks)
    print(f"sewershare: 已写入签收 {len(args.alert_keys)} 条 → {path}（下次运行入库）")
    return 0


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

    run = sub.add_parser("run", help="run the main job in-process: ingest, dbt, quality gate, publish")
    run.add_argument("--home", default=argparse.SUPPRESS)
    run.add_argument("--sample-scale", type=float, default=0.01,
                     help="scale of the sample generated when landing/ and archive/ are empty")
    run.add_argument("--sample-seed", type=int, default=42)
    run.add_argument("--no-sample", action="store_true", help="never generate the sample")
    run.add_argument("--reporting-date", default=None,
                     help="reporting date of the KPI marts, ledger and alerts (YYYY-MM-DD; default: today)")
    run.set_defaults(func=cmd_run)

    ack = sub.add_parser("ack", help="acknowledge alerts (预警签收): writes landing/alert_acks/*.csv")
    ack.add_argument("--home", default=argparse.SUPPRESS)
    ack.add_argument("alert_keys", nargs="+", help="alert_key of marts.alerts")
    ack.add_argument("--by", required=True, help="签收单位, e.g. 市综合执法局 (a value of sources/alert_acks.yml)")
    ack.add_argument("--on", default=None, help="签收日期 YYYY-MM-DD (default: today)")
    ack.add_argument("--action", default=None, help="处置措施")
    ack.add_argument("--remarks", default=None, help="备注")
    ack.set_defaults(func=cmd_ack)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "home", None):
        os.environ["SEWERSHARE_HOME"] = str(Path(args.home).resolve())
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
