# Sourced by the install_*.sh scripts: install Debian packages quietly, as root or via sudo.
# apt_install PACKAGE...: on failure prints apt-get's output and returns 1.

apt_install() {
  local sudo=() log
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "error: installing $* needs root" >&2; return 1; }
    sudo=(sudo)
  fi
  echo "installing $* from Debian packages" >&2
  log=$(mktemp)
  if ! "${sudo[@]}" apt-get update -qq >"$log" 2>&1 ||
    ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "$@" >>"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "error: apt-get install $* failed" >&2
    return 1
  fi
  rm -f "$log"
}

# apt_binary "PACKAGE..." CANDIDATE...: print the first CANDIDATE that is executable (an absolute
# path, or a command name looked up on PATH); when none is, install the packages and look again.
apt_binary() {
  local packages=$1 exe
  shift
  exe=$(_first_executable "$@")
  if [ -z "$exe" ]; then
    # shellcheck disable=SC2086  # the package list is meant to split
    apt_install $packages || return 1
    exe=$(_first_executable "$@")
    [ -n "$exe" ] || { echo "error: $packages installed but no binary found" >&2; return 1; }
  fi
  echo "$exe"
}

_first_executable() {
  local candidate exe
  for candidate in "$@"; do
    case $candidate in
      /*) exe=$candidate ;;
      *) exe=$(command -v "$candidate" 2>/dev/null || true) ;;
    esac
    if [ -n "$exe" ] && [ -x "$exe" ]; then
      echo "$exe"
      return
    fi
  done
}
