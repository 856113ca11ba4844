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
    home = DataHome.resolve(args.home)
    # The sample is generated only when asked (--sample; `make run` asks on the default home): a mistyped
    # --home never fills a new folder with synthetic data and publishes it (issue 14).
    if not args.sample and not home.root.exists():
        print(f"sewershare: 数据目录不存在：{home.root}（如需在此生成样例数据运行，请加 --sample）\n"
              f"the data home does not exist: {home.root} (add --sample to generate the sample there)",
              file=sys.stderr)
        return 2
    home.ensure()
    if args.sample and not args.no_sample and not _has_files(home.landing) and not _has_files(home.archive):
        from pipelines.sample import generate

        print(f"sewershare: landing 为空，生成内置样例数据 (scale={args.sample_scale}, seed={args.sample_seed})")
        generate(home.root, scale=args.sample_scale, seed=args.sample_seed, progress=True)
    from pipelines.main_job import run_main_job

    return run_main_job(home, full=args.full, reporting_date=args.reporting_date)


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


def cmd_ack(args: argparse.Namespace) -> int:
    """Acknowledge alerts: a CSV into landing/alert_acks/, loaded by the next run like every delivery."""
    from pipelines.report.acks import write_acknowledgement

    home = DataHome.resolve(args.home).ensure()
    path = write_acknowledgement(home, args.alert_keys, by=args.by, on=args.on, action=args.action,
                                 remarks=args.remarks)
    print(f"sewershare: 已写入签收 {len(args.alert_keys)} 条 → {path}（下次运行入库）")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from pipelines.share.portal import serve

    serve(DataHome.resolve(args.home).ensure(), host=args.host, port=args.port)
    return 0


def cmd_share(args: argparse.Namespace) -> int:
    from pipelines.resources import WarehouseResource
    from pipelines.share.catalogue import write_catalogue
    from pipelines.share.extracts import write_recipient_extracts

    home = DataHome.resolve(args.home).ensure()
    catalogue = write_catalogue(home)
    result = write_recipient_extracts(home, WarehouseResource(path=str(home.warehouse)).reader)
    print(f"sewershare: 共享目录 {len(catalogue['entries'])} 个数据集；新版本 {result.new_versions} 个，"
          f"未变化 {sum(len(v) for v in result.unchanged.values())} 个")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from pipelines.share import tokens

    home = DataHome.resolve(args.home).ensure()
    actor = f"cli:{os.environ.get('USER', 'operator')}"
    if args.action == "issue":
        issued = tokens.issue(home, args.recipient, days=args.days, actor=actor, note=args.note or "")
        print(f"令牌 (token, shown once): {issued.token}\n编号 token id: {issued.token_id}  共享对象: "
              f"{issued.recipient}  有效期至: {issued.expires_at}")
        if args.profile:
            import json

            Path(args.profile).write_text(json.dumps({
                "shareCredentialsVersion": 1, "endpoint": args.endpoint.rstrip("/") + "/delta-sharing",
                "bearerToken": issued.token, "expirationTime": issued.expires_at.replace("+00:00", "Z")}, indent=1))
            print(f"Delta Sharing 配置文件 profile: {args.profile}")
    elif args.action == "revoke":
        print(f"已撤销 revoked {args.token_id} ({tokens.revoke(home, args.token_id, actor=actor)})")
    else:
        for t in tokens.list_tokens(home):
            print(t["token_id"], t["recipient"], t["issued_at"], t["expires_at"], t["revoked_at"] or "")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from pipelines.share import audit

    home = DataHome.resolve(args.home).ensure()
    if args.action == "verify":
        result = audit.verify(home)
        if result.ok:
            print(f"审计日志完整 (audit chain verified): {result.entries} 条记录")
            return 0
        print("审计日志被篡改或缺失 (audit chain broken):\n- " + "\n- ".join(result.problems), file=sys.stderr)
        return 1
    print("月份     共享对象            下载  行数  数据集  被拒  申请  批准  不予批准")
    for u in audit.monthly_usage(home, args.month):
        print(f"{u['month']}  {u['recipient']:<18}{u['downloads']:>5}{u['rows']:>7}{u['datasets']:>6}"
              f"{u['refusals']:>6}{u['requests']:>6}{u['approved']:>6}{u['refused']:>8}")
    return 0


def cmd_request(args: argparse.Namespace) -> int:
    from pipelines.share import requests

    home = DataHome.resolve(args.home).ensure()
    try:
        if args.action == "submit":
            print(f"申请编号 {requests.submit(home, args.recipient, args.dataset, args.purpose, args.scenario)}")
        elif args.action in ("approve", "refuse"):
            requests.decide(home, args.request_id, args.decider, args.action == "approve", args.reason or "")
            print("已处理 done")
        else:
            for f in requests.overdue(home):
                print(f.message)
    except requests.RequestError as err:
        print(f"未受理: {err}", file=sys.stderr)
        return 1
    return 0


def cmd_labels(args: argparse.Namespace) -> int:
    """Every label and value the contracts could not read, per feed and field, with counts and files."""
    from pipelines import duck
    from pipelines.contracts import load_contracts
    from pipelines.ingest.report import labels_text

    home = DataHome.resolve(args.home)
    if not home.warehouse.exists():
        print(f"sewershare: 仓库尚不存在 (no warehouse yet): {home.warehouse}")
        return 1
    con = duck.connect(home.warehouse, read_only=True, extensions=())
    try:
        print(labels_text(con, load_contracts(), feed=args.feed, include_resolved=args.all,
                          headers=not args.no_headers))
    finally:
        con.close()
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

    run = sub.add_parser("run", help="run what changed in-process (new files, due models): ingest, dbt, "
                                     "quality gate, publish")
    run.add_argument("--home", default=argparse.SUPPRESS)
    run.add_argument("--sample-scale", type=float, default=0.01,
                     help="scale of the sample generated when landing/ and archive/ are empty")
    run.add_argument("--sample-seed", type=int, default=42)
    run.add_argument("--sample", action="store_true",
                     help="generate the synthetic sample first when landing/ and archive/ are empty "
                          "(`make run` passes it on the default home only)")
    run.add_argument("--no-sample", action="store_true", help="never generate the sample (the default)")
    run.add_argument("--full", action="store_true",
                     help="rebuild every model and re-run every check, not only what changed")
    run.add_argument("--reporting-date", default=None,
                     help="reporting date of the KPI marts, ledger and alerts (YYYY-MM-DD; default: today)")
    run.set_defaults(func=cmd_run)

    labels = sub.add_parser("labels", help="list the labels, values and headers the contracts did not understand, "
                                           "per feed and field, with counts and files")
    labels.add_argument("--home", default=argparse.SUPPRESS)
    labels.add_argument("--feed", help="one feed only")
    labels.add_argument("--all", action="store_true", help="also the labels a later contract has mapped")
    labels.add_argument("--no-headers", action="store_true", help="labels only, not the header findings")
    labels.set_defaults(func=cmd_labels)

    ack = sub.add_parser("ack", help="acknowledge alerts (预警签收): writes landing/alert_acks/*.csv")
    ack.add_argument("--home", default=argparse.SUPPRESS)
    ack.add_argument("alert_keys", nargs="+", help="alert_key of marts.alerts")
    ack.add_argument("--by", required=True, help="签收单位, e.g. 市综合执法局 (a value of sources/alert_acks.yml)")
    ack.add_argument("--on", default=None, help="签收日期 YYYY-MM-DD (default: today)")
    ack.add_argument("--action", default=None, help="处置措施")
    ack.add_argument("--remarks", default=None, help="备注")
    ack.set_defaults(func=cmd_ack)

    serve = sub.add_parser("serve", help="the sharing portal and Delta Sharing server (published data only)")
    serve.add_argument("--home", default=argparse.SUPPRESS)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.set_defaults(func=cmd_serve)

    share = sub.add_parser("share", help="write the catalogue and every recipient's extracts (after publication)")
    share.add_argument("--home", default=argparse.SUPPRESS)
    share.set_defaults(func=cmd_share)

    token = sub.add_parser("token", help="issue, revoke or list recipients' bearer tokens")
    token.add_argument("--home", default=argparse.SUPPRESS)
    tsub = token.add_subparsers(dest="action", required=True)
    issue = tsub.add_parser("issue")
    issue.add_argument("recipient")
    issue.add_argument("--days", type=int, default=90)
    issue.add_argument("--note")
    issue.add_argument("--profile", help="also write a Delta Sharing profile file here")
    issue.add_argument("--endpoint", default="http://127.0.0.1:8765")
    revoke = tsub.add_parser("revoke")
    revoke.add_argument("token_id")
    tsub.add_parser("list")
    token.set_defaults(func=cmd_token)

    aud = sub.add_parser("audit", help="verify the audit chain, or print the monthly usage per bureau")
    aud.add_argument("--home", default=argparse.SUPPRESS)
    asub = aud.add_subparsers(dest="action", required=True)
    asub.add_parser("verify")
    summary = asub.add_parser("summary")
    summary.add_argument("--month", help="YYYY-MM (default: every month)")
    aud.set_defaults(func=cmd_audit)

    req = sub.add_parser("request", help="requests for conditional datasets (the portal does the same)")
    req.add_argument("--home", default=argparse.SUPPRESS)
    rsub = req.add_subparsers(dest="action", required=True)
    submit = rsub.add_parser("submit")
    for name in ("recipient", "dataset", "purpose", "scenario"):
        submit.add_argument(name)
    for name in ("approve", "refuse"):
        d = rsub.add_parser(name)
        d.add_argument("request_id", type=int)
        d.add_argument("decider", help="the owning bureau's recipient id")
        d.add_argument("--reason")
    rsub.add_parser("overdue")
    req.set_defaults(func=cmd_request)

    dagster = sub.add_parser("dagster", help="Dagster UI + daemon (dagster dev) on the data home's instance")
    dagster.add_argument("--home", default=argparse.SUPPRESS)
    dagster.add_argument("--host", default="127.0.0.1")
    dagster.add_argument("--port", type=int, default=3000)
    dagster.set_defaults(func=cmd_dagster)

    from pipelines.bench.cli import add_parser as add_bench_parser

    add_bench_parser(sub)
    return parser


def unwritable_message(home: Path, exc: BaseException) -> str:
    return (f"sewershare: 数据目录不可写、只读或磁盘已满：{home}（{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}）。"
            "已发布数据保持上一有效版本。\n"
            f"the data home is not writable, read-only or full: {home}; published data stay at the last good version")


def _writable_problem(exc: BaseException) -> bool:
    import errno
    import sqlite3

    import duckdb

    if isinstance(exc, OSError):
        return exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT)
    text = str(exc).lower()
    # SQLite reports a full disk under the instance's storage as "database or disk is full" or, when the journal
    # cannot grow, "disk I/O error"; SQLAlchemy wraps it (sqlalchemy.exc.OperationalError, text kept)
    return (isinstance(exc, (sqlite3.OperationalError, duckdb.IOException, duckdb.PermissionException))
            or type(exc).__name__ == "OperationalError") and any(
        w in text for w in ("readonly", "read-only", "read only", "permission", "no space", "disk is full",
                            "unable to open", "disk i/o error"))


def _disk_full(home: Path) -> bool:
    import shutil

    try:
        return shutil.disk_usage(home).free < 1 << 20
    except OSError:
        return False


def _home_problem(exc: BaseException, home: Path) -> bool:
    """Whether ``exc``, or any exception it was raised from, is the home's disk or permissions (not a bug)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if _writable_problem(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return _disk_full(home)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "home", None):
        os.environ["SEWERSHARE_HOME"] = str(Path(args.home).resolve())
    try:
        return args.func(args)
    except Exception as exc:  # noqa: BLE001 - one message of our own for an unwritable home, not a traceback
        home = DataHome.resolve(getattr(args, "home", None)).root
        if _home_problem(exc, home):
            print(unwritable_message(home, exc), file=sys.stderr)
            return 3
        raise


if __name__ == "__main__":
    sys.exit(main())
