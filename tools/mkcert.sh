#!/bin/sh
# mkcert.sh: a self-signed certificate for a demo domain, made once.
# usage: mkcert.sh DIR DOMAIN  ->  DIR/DOMAIN.crt, DIR/DOMAIN.key
set -e
dir=$1 domain=$2
[ -n "$dir" ] && [ -n "$domain" ] || { echo "usage: $0 DIR DOMAIN" >&2; exit 2; }
[ -s "$dir/$domain.crt" ] && [ -s "$dir/$domain.key" ] && exit 0
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -days 825 -subj "/CN=$domain" -addext "subjectAltName=DNS:$domain" \
    -keyout "$dir/$domain.key" -out "$dir/$domain.crt" 2>/dev/null
echo "generated a self-signed certificate for $domain in $dir"
