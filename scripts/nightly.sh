#!/usr/bin/env bash
# Nightly rebuild: collect evidence, render the site, PDF and workbook, publish.
#
# Run from the project folder (the one with mkdocs.yml). Extra arguments go to
# `auditbook build`, for example --regions eu-west-2 or --fail-on critical.
#
# Environment, all optional:
#   AUDITBOOK_CONFIG    mkdocs.yml with the auditbook options (default: mkdocs.yml)
#   AUDITBOOK_OUT       evidence folder (default: evidence_dir of the
#                       configuration, or its demo/ folder with AUDITBOOK_DEMO=1)
#   AUDITBOOK_SITE_DIR  folder for the site, PDF and workbook (default: site)
#   PUBLISH_DIR         when set, a symlink switched atomically to a copy of the site
#   PUBLISH_KEEP        copies kept beside PUBLISH_DIR, the live one included
#                       (default: 3)
#   AUDITBOOK_DEMO      1: collect from the built-in demo account, not from AWS
#   AUDITBOOK           the auditbook command (default: auditbook)
#
# Exit codes are those of `auditbook build`:
#   0  every gated control passes.
#   1  controls failing: a FAIL reaches the fail_on severity. The evidence
#      is complete and the site is published.
#   2  collection broken or configuration error: an ERROR finding (the
#      evidence is incomplete, and the site that shows it is published), an
#      invalid configuration, another run holding the lock, a crash, or a
#      build that rendered no site.
#
# The script's own log lines are plain and timestamped, in the format of the
# CLI's log lines when stderr is not a terminal (on a terminal the CLI shows a
# progress bar instead). Needs GNU coreutils and util-linux flock.

set -euo pipefail

config=${AUDITBOOK_CONFIG:-mkdocs.yml}
evidence_dir=${AUDITBOOK_OUT:-}
site_dir=${AUDITBOOK_SITE_DIR:-site}
site_dir=${site_dir%/}
site_parent=$(dirname -- "$site_dir")
site_name=$(basename -- "$site_dir")
publish_dir=${PUBLISH_DIR:-}
publish_dir=${publish_dir%/}
publish_keep=${PUBLISH_KEEP:-3}
auditbook=${AUDITBOOK:-auditbook}

EXIT_ERROR=2
# The evidence store's own write lock, taken by `auditbook collect`.
STORE_LOCK=.lock

log() {
    local level=$1
    shift
    printf '%s %s nightly: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S%z)" "$level" "$*" >&2
}

staging=""
# shellcheck disable=SC2329  # called by the EXIT trap
cleanup() {
    if [[ -n $staging && -d $staging ]]; then
        rm -rf -- "$staging"
    fi
}
trap cleanup EXIT

if ! [[ $publish_keep =~ ^[1-9][0-9]*$ ]]; then
    log ERROR "PUBLISH_KEEP is '$publish_keep'; set it to a whole number of 1 or more"
    exit "$EXIT_ERROR"
fi

# One nightly run per site folder at a time, because each run replaces that
# folder. The evidence store has its own lock, which `auditbook collect` takes
# and which would be found held if this script took it.
mkdir -p -- "$site_parent"
lock_file="$site_parent/.$site_name.nightly.lock"
exec 9>"$lock_file"
if ! flock --nonblock 9; then
    log ERROR "another nightly run holds $lock_file; this run stops without" \
        "collecting"
    exit "$EXIT_ERROR"
fi

# A collection started by hand takes the store's lock, so report that plainly.
# Without AUDITBOOK_OUT the folder comes from the configuration, and the CLI
# reports a held lock with its own message.
if [[ -n $evidence_dir ]]; then
    mkdir -p -- "$evidence_dir"
    if ! flock --nonblock "$evidence_dir/$STORE_LOCK" true; then
        log ERROR "another auditbook run is writing to $evidence_dir, such as" \
            "a collect started by hand; this run stops without collecting"
        exit "$EXIT_ERROR"
    fi
fi

# Render into a new folder beside the site folder and rename it into place
# only when the site was built, so a failed run keeps the last good site.
staging=$(mktemp -d "$site_parent/.$site_name.XXXXXX")
# mktemp creates the folder readable by its owner only, but a web server
# serving the site needs the permissions that the umask gives.
chmod -- "$(umask -S)" "$staging"

command=("$auditbook" --config "$config" build --site-dir "$staging")
if [[ -n $evidence_dir ]]; then
    command+=(--out "$evidence_dir")
fi
if [[ ${AUDITBOOK_DEMO:-} == 1 ]]; then
    command+=(--demo)
fi
command+=("$@")

log INFO "running ${command[*]}"
code=0
"${command[@]}" 9>&- || code=$?
log INFO "auditbook build exited with $code"

if [[ ! -f $staging/index.html ]]; then
    log ERROR "no site was rendered; $site_dir keeps the previous site and" \
        "nothing is published"
    if ((code == 0 || code == 1)); then
        code=$EXIT_ERROR
    fi
    exit "$code"
fi

previous_site=""
if [[ -e $site_dir ]]; then
    previous_site="$staging.previous"
    mv -- "$site_dir" "$previous_site"
fi
mv -- "$staging" "$site_dir"
staging=""
if [[ -n $previous_site ]]; then
    rm -rf -- "$previous_site"
fi
log INFO "site, PDF and workbook are in $site_dir"

publish() {
    # Copy the site into a new release folder, then point the PUBLISH_DIR
    # symlink at it with one rename(2), which replaces the old link
    # atomically. Each request sees the old site or the new one, never a
    # half-copied folder.
    local parent name releases release link
    parent=$(dirname -- "$publish_dir")
    name=$(basename -- "$publish_dir")
    releases="$parent/.$name.releases"
    release="$(date -u +%Y%m%dT%H%M%SZ)-$$"
    mkdir -p -- "$releases"

    cp -R -- "$site_dir" "$releases/.incomplete-$release"
    mv -- "$releases/.incomplete-$release" "$releases/$release"

    if [[ -e $publish_dir && ! -L $publish_dir ]]; then
        # A plain folder cannot be swapped in one rename. It is moved aside
        # once, and from then on PUBLISH_DIR is a symlink.
        log WARNING "$publish_dir is a folder, not a symlink; moving it to" \
            "$releases/replaced-$release before the first switch"
        mv -- "$publish_dir" "$releases/replaced-$release"
    fi
    link="$parent/.$name.link-$$"
    ln -s -- ".$name.releases/$release" "$link"
    mv -T -- "$link" "$publish_dir"
    log INFO "published $site_dir to $publish_dir (release $release)"

    # Keep the newest releases. Release names start with their UTC time, so
    # they sort oldest first.
    local old
    while IFS= read -r old; do
        rm -rf -- "${releases:?}/$old"
    done < <(find "$releases" -mindepth 1 -maxdepth 1 -type d -name '2*' \
        -printf '%f\n' | sort | head -n "-$publish_keep")
}

if [[ -n $publish_dir ]]; then
    publish
fi

case $code in
0) log INFO "every gated control passes" ;;
1) log WARNING "controls failing: see $site_dir/index.html" ;;
*) log ERROR "collection broken or configuration error (exit $code); see the" \
    "messages above" ;;
esac
exit "$code"
