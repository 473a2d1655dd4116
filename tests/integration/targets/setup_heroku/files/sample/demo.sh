#!/bin/sh
# The one-off script of the sample app: the Fibonacci numbers below $1, then exit with status $2 (default 0).
limit=${1:?usage: demo.sh LIMIT [STATUS]}
a=0
b=1
out=
while [ "$a" -lt "$limit" ]; do
  out="$out${out:+ }$a"
  next=$((a + b))
  a=$b
  b=$next
done
echo "$out"
exit "${2:-0}"
