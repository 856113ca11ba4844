#!/usr/bin/env bash
# The page tests drive Debian's chromium through Playwright (Playwright's own browser download fails
# offline). Install it with the CJK fonts when it is missing and this machine can: as root with apt.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "安装 chromium 与中文字体 (installing chromium and fonts-noto-cjk for the page tests)"
  apt-get install -y -q chromium fonts-noto-cjk >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium fonts-noto-cjk >/dev/null; }
else
  echo "页面测试需要 chromium 与 fonts-noto-cjk (the page tests need chromium and fonts-noto-cjk; install them" \
       "with: sudo apt-get install chromium fonts-noto-cjk)" >&2
fi
