# tests/harness/curve.sh — CurveZMQ keys for the scripts that start dtxd
# and its peers (demos, drills, benchmarks), made with `dtxctl keygen`
# (docs/operations.md, "Keys"). Source it; it uses $DTXCTL, or $BIN/dtxctl.
#
#   curve_init DIR          dtxd's key pair DIR/dtxd.keys, an empty
#                           allow-list DIR/allow (DIR made mode 0700), and
#                           CURVE_DTXD_ARGS: the dtxd options naming both
#   curve_peer DIR FILE PRINCIPAL ROLES...
#                           a peer's credentials DIR/FILE.keys (naming
#                           dtxd's public key) and its allow-list line;
#                           prints the file's path (for DTX_CURVE_KEY_FILE)
#
# Both return non-zero when dtxctl fails. Several dtxd of one cluster share
# one DIR; peers that share a PRINCIPAL share their transactions.
# shellcheck shell=bash

# shellcheck disable=SC2034 # CURVE_DTXD_ARGS is for the caller
curve_init() {
    local dir=$1
    mkdir -p "$dir" && chmod 0700 "$dir" || return 1
    "${DTXCTL:-$BIN/dtxctl}" keygen "$dir/dtxd.keys" >/dev/null || return 1
    : >"$dir/allow"
    CURVE_DTXD_ARGS=(--curve-secret-file "$dir/dtxd.keys" --curve-allow-file "$dir/allow")
}

curve_peer() {
    local dir=$1 file=$2 principal=$3 pub
    shift 3
    pub=$("${DTXCTL:-$BIN/dtxctl}" keygen "$dir/$file.keys" --server-key-file "$dir/dtxd.keys") ||
        return 1
    echo "$pub $principal $*" >>"$dir/allow"
    echo "$dir/$file.keys"
}
