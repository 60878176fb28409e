#!/bin/sh
# run-banner.sh: what `make run` prints before the node starts.
conf=$1
sock=$(sed -n "s/^[[:space:]]*'control-socket'[[:space:]]*=[[:space:]]*'\(.*\)'.*/\1/p" "$conf")
cat <<TXT

xfed: starting one node in the foreground with $conf (Ctrl-C stops it)

  c2s STARTTLS   localhost:5222        c2s direct TLS   localhost:5223
  domain         localhost             certificate      self-signed (var/tls/)

In another terminal, add a user (the password is read from the prompt):

  bin/xfedctl -s ${sock:-var/xfed.sock} user add alice@localhost

then log in with any XMPP client as alice@localhost (accept the
self-signed certificate), or look around:

  bin/xfedctl -s ${sock:-var/xfed.sock} status
  bin/xfedctl -s ${sock:-var/xfed.sock} sessions

TXT
