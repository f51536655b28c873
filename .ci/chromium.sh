#!/usr/bin/env bash
# Make Debian's Chromium available for the HTML report's browser test, installing the package
# first if the machine lacks it. Source it: it exports ASSETQUERY_REQUIRE_BROWSER=1 so the
# browser test fails instead of skipping when Chromium cannot be started.
#
#   source .ci/chromium.sh
set -euo pipefail

# A small CJK font too: without one, Chinese names, case numbers and the charts' labels
# render as empty boxes (the evidence pack's PDF and screenshot are checked for them).
if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
    echo "installing Chromium and a CJK font (Debian packages)…"
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null
fi

export ASSETQUERY_REQUIRE_BROWSER=1
echo "Chromium for the tests: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
