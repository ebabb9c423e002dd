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
