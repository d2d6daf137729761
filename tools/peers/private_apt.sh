# Sourced by the peer scripts: a private apt state for one Debian suite, so that a package
# of another suite can be downloaded and unpacked (never installed) without touching the
# system's apt sources, lists or dpkg status.
#   private_apt_init SUITE DIR   sets up DIR/{sources.list,lists,cache,status}, updates
#   private_apt ARGS...          runs apt-get with that state
#   private_apt_cache ARGS...    runs apt-cache with that state
#   private_apt_unpack ROOT PKG...  downloads PKG... and unpacks each into ROOT

# The mirror this machine already uses for Debian (deb822 or one-line sources).
debian_mirror() {
  local uri
  uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
    tr ' ' '\n' | grep -v -e security -e '^$' | head -n1)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' \
    /etc/apt/sources.list 2>/dev/null)
  echo "${uri:-http://deb.debian.org/debian}"
}

private_apt_init() {
  local suite=$1
  PRIVATE_APT_DIR=$2
  mkdir -p "$PRIVATE_APT_DIR/lists/partial" "$PRIVATE_APT_DIR/cache/archives/partial"
  : >"$PRIVATE_APT_DIR/status" # empty: every package counts as not installed
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
    "$(debian_mirror)" "$suite" >"$PRIVATE_APT_DIR/sources.list"
  PRIVATE_APT_OPTS=(
    -o Dir::Etc::SourceList="$PRIVATE_APT_DIR/sources.list"
    -o Dir::Etc::SourceParts=/dev/null
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
    -o Dir::State::Lists="$PRIVATE_APT_DIR/lists"
    -o Dir::State::Status="$PRIVATE_APT_DIR/status"
    -o Dir::Cache="$PRIVATE_APT_DIR/cache"
    -o APT::Sandbox::User=root -qq)
  apt-get "${PRIVATE_APT_OPTS[@]}" update >&2
}

private_apt() { apt-get "${PRIVATE_APT_OPTS[@]}" "$@"; }
private_apt_cache() { apt-cache "${PRIVATE_APT_OPTS[@]}" "$@"; }

private_apt_unpack() {
  local root=$1 deb
  shift
  mkdir -p "$root" "$PRIVATE_APT_DIR/debs"
  (cd "$PRIVATE_APT_DIR/debs" && private_apt download "$@" >&2)
  for deb in "$PRIVATE_APT_DIR"/debs/*.deb; do dpkg -x "$deb" "$root"; done
}

# The cache folder every fetched peer lives under.
vfs_cache_dir() { echo "${VFS_CACHE:-/var/tmp/vfs-cache}"; }
