# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared helpers of the gcheap test rig. Sourced by the scripts in scripts/,
# never run on its own.
#
# Conventions:
#   - progress and errors go to stderr, prefixed with the script's name;
#     a script's result (a path, a count) goes to stdout;
#   - everything downloaded or built outside the repo lives under
#     $GCHEAP_CACHE (default ~/.cache/gcheap); per-run outputs (logs, guest
#     runs, selftest binaries) live under $GCHEAP_BUILD (default <repo>/build,
#     which .gitignore excludes).
#
# Environment:
#   GCHEAP_CACHE        cache directory            (~/.cache/gcheap)
#   GCHEAP_BUILD        per-run output directory   (<repo>/build)
#   GCHEAP_JOBS         make -j                    ($(nproc))
#   GCHEAP_VERBOSE=1    show build output instead of logging it to a file

GCHEAP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GCHEAP_SCRIPTS=$GCHEAP_ROOT/scripts
GCHEAP_CACHE=${GCHEAP_CACHE:-${HOME:-/root}/.cache/gcheap}
GCHEAP_BUILD=${GCHEAP_BUILD:-$GCHEAP_ROOT/build}
GCHEAP_JOBS=${GCHEAP_JOBS:-$(nproc)}
PROG=${PROG:-$(basename "$0")}

# Debian package that ships the kernel source tarball, and the tarball in it.
KSRC_PKG=linux-source-6.1
KSRC_TARBALL=usr/src/linux-source-6.1.tar.xz
KSRC_TOPDIR=linux-source-6.1
# Bump when build-kernel's recipe changes in a way the fragment does not show.
KERNEL_RECIPE=1

msg() { printf '%s: %s\n' "$PROG" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

# now: seconds since the epoch with a fraction, for timings.
now() { date +%s.%N; }
# elapsed START: seconds since START, one decimal.
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

# run_logged LOG CMD...: run CMD with its output in LOG (and on stderr too
# when GCHEAP_VERBOSE=1); on failure print the log's tail and return the
# command's status.
run_logged() {
	local log=$1 rc=0
	shift
	mkdir -p "$(dirname "$log")"
	if [[ ${GCHEAP_VERBOSE:-0} == 1 ]]; then
		"$@" 2>&1 | tee -a "$log" >&2 || rc=${PIPESTATUS[0]}
	else
		"$@" >>"$log" 2>&1 || rc=$?
	fi
	if ((rc != 0)); then
		printf '%s: command failed (status %d): %s\n' "$PROG" "$rc" "$*" >&2
		printf '%s: last lines of %s:\n' "$PROG" "$log" >&2
		tail -n 40 "$log" | sed 's/^/    /' >&2
	fi
	return "$rc"
}

# with_lock NAME CMD...: run CMD holding an exclusive lock under the cache, so
# two runs on one machine do not build the same tree at once. Names starting
# with "machine-" are locked machine-wide (/run/lock), whatever the cache:
# DKMS's state (/usr/src, /var/lib/dkms) is the machine's.
# (Its locals have odd names: bash scoping is dynamic, and CMD must see the
# caller's variables, not ours.)
with_lock() {
	local _wl_lock=$GCHEAP_CACHE/locks/$1.lock
	if [[ $1 == machine-* && -d /run/lock && -w /run/lock ]]; then
		_wl_lock=/run/lock/gcheap-$1.lock
	fi
	shift
	mkdir -p "$(dirname "$_wl_lock")"
	(
		flock -w 3600 9 || die "timed out waiting for lock $_wl_lock"
		"$@"
	) 9>"$_wl_lock"
}

# apt_ready: make sure apt has package lists (a fresh machine may have none).
APT_UPDATED=0
apt_update_once() {
	((APT_UPDATED)) && return 0
	msg "apt-get update"
	apt-get update -qq >&2 || die "apt-get update failed"
	APT_UPDATED=1
}

# apt_candidate PKG: the version apt would install, or nothing.
apt_candidate() {
	local v
	v=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }')
	if [[ -z $v || $v == "(none)" ]]; then
		apt_update_once
		v=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }')
	fi
	[[ -n $v && $v != "(none)" ]] || return 1
	printf '%s\n' "$v"
}

# apt_fetch PKG VERSION: download PKG=VERSION into the cache (once) and print
# the .deb's path. Nothing is installed.
apt_fetch() {
	local pkg=$1 ver=$2 dir="$GCHEAP_CACHE/debs" deb tmp
	deb="$dir/${pkg}_${ver//:/%3a}.deb"
	if [[ ! -s $deb ]]; then
		mkdir -p "$dir"
		tmp=$(mktemp -d "$dir/.dl.XXXXXX")
		msg "downloading $pkg $ver"
		if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2); then
			apt_update_once
			(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
				{ rm -rf "$tmp"; die "apt-get download $pkg=$ver failed"; }
		fi
		mv "$tmp"/*.deb "$deb"
		rm -rf "$tmp"
	fi
	printf '%s\n' "$deb"
}

# --- the debug kernel ------------------------------------------------------

# debug_kernel_key: cache key of the debug kernel: the fragment, the source
# package version and the recipe version.
debug_kernel_key() {
	local ver sum
	ver=$(apt_candidate "$KSRC_PKG") || die "no candidate for $KSRC_PKG in apt (is this Debian 12?)"
	sum=$({
		printf 'pkg=%s ver=%s recipe=%s\n' "$KSRC_PKG" "$ver" "$KERNEL_RECIPE"
		cat "$GCHEAP_SCRIPTS/kernel.config"
	} | sha256sum | cut -c1-16)
	printf '%s-%s\n' "${ver//[^A-Za-z0-9.+]/_}" "$sum"
}

# debug_kernel_dir: where the debug kernel for the current fragment lives
# (built or not). The tree itself is "$dir/$KSRC_TOPDIR".
debug_kernel_dir() {
	printf '%s/kernel/debug-%s\n' "$GCHEAP_CACHE" "$(debug_kernel_key)"
}

# --- the stock kernel ------------------------------------------------------

# stock_abi: the ABI name (e.g. 6.1.0-56-amd64) of the headers that
# linux-headers-amd64 pulls in, and stock_headers_version its package version.
stock_headers_pkg() {
	dpkg-query -W -f='${Depends}\n' linux-headers-amd64 2>/dev/null |
		tr ',' '\n' | sed -n 's/^ *\(linux-headers-[0-9][^ ]*-amd64\).*/\1/p' | head -n1
}
stock_abi() {
	local p
	p=$(stock_headers_pkg)
	[[ -n $p ]] || die "linux-headers-amd64 is not installed (run scripts/deps)"
	printf '%s\n' "${p#linux-headers-}"
}
stock_headers_version() {
	dpkg-query -W -f='${Version}\n' "linux-headers-$(stock_abi)"
}
stock_kdir() {
	local abi
	abi=$(stock_abi)
	if [[ -e /lib/modules/$abi/build/Makefile ]]; then
		printf '%s\n' "/lib/modules/$abi/build"
	elif [[ -e /usr/src/linux-headers-$abi/Makefile ]]; then
		printf '%s\n' "/usr/src/linux-headers-$abi"
	else
		die "no headers for $abi (run scripts/deps)"
	fi
}

# dkms_version: PACKAGE_VERSION from the repo's dkms.conf.
dkms_version() {
	[[ -f $GCHEAP_ROOT/dkms.conf ]] || die "no dkms.conf in $GCHEAP_ROOT"
	sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$GCHEAP_ROOT/dkms.conf" | head -n1
}

# --- the module source -----------------------------------------------------

# sync_source DEST: copy the repo's sources to DEST (no .git, no build
# outputs), keeping timestamps so incremental builds stay incremental.
RSYNC_EXCLUDES=(
	--exclude=/.git --exclude=/build/ --exclude=/.ci/ --exclude=/bench/
	--exclude='*.o' --exclude='*.ko' --exclude='*.ko.*' --exclude='*.mod'
	--exclude='*.mod.c' --exclude='.*.cmd' --exclude='*.cmd' --exclude='*.a'
	--exclude='*.so' --exclude='*.d' --exclude=modules.order
	--exclude=Module.symvers --exclude=.tmp_versions/
	--exclude=/hosted/out/ --exclude=/selftests/out/
)
sync_source() {
	local dest=$1
	mkdir -p "$dest"
	rsync -a --delete "${RSYNC_EXCLUDES[@]}" "$GCHEAP_ROOT/" "$dest/"
}

# source_hash: a hash of the module's source files (what sync_source copies).
source_hash() {
	(cd "$GCHEAP_ROOT" &&
		rsync -a --dry-run --out-format='%n' "${RSYNC_EXCLUDES[@]}" ./ /nonexistent-gcheap-dest/ 2>/dev/null |
		grep -v '/$' | LC_ALL=C sort | tr '\n' '\0' | xargs -0 -r sha256sum) |
		sha256sum | cut -c1-16
}

# decompress_ko IN OUT: copy a module, decompressing .ko.xz/.ko.zst/.ko.gz
# (busybox insmod in the guest may not decompress).
decompress_ko() {
	local in=$1 out=$2
	case $in in
	*.ko.xz) xz -dc "$in" >"$out" ;;
	*.ko.zst) zstd -qdc "$in" >"$out" ;;
	*.ko.gz) gzip -dc "$in" >"$out" ;;
	*.ko) cp "$in" "$out" ;;
	*) die "not a kernel module: $in" ;;
	esac
}
