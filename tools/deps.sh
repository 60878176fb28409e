#!/bin/sh
# deps.sh: installs the Debian packages a target needs, only when missing.
# usage: deps.sh build|test|bench|fuzz
set -e
build="gcc make pkg-config libssl-dev libexpat1-dev liblmdb-dev libjansson-dev libpq-dev libidn-dev libhttp-parser-dev libwslay-dev openssl"
test="$build perl python3-slixmpp python3-websocket procps postgresql"
bench="$build procps"
fuzz="$build clang libclang-rt-dev"
case "$1" in
build) want=$build ;;
test) want=$test ;;
bench) want=$bench ;;
fuzz) want=$fuzz ;;
*) echo "usage: $0 build|test|bench|fuzz" >&2; exit 2 ;;
esac
missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
elif command -v sudo >/dev/null; then
	sudo apt-get update -qq
	sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
else
	echo "missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
