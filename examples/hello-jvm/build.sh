#!/bin/sh
# Builds build/hello-jvm.jar with the JDK alone (javac and jar: no Maven, no libraries).
#
#   ./build.sh [--version V]      V defaults to the first line of VERSION
#
# The jar holds the classes, build.properties (version, build) and a manifest with Main-Class and
# Implementation-Title/-Version. The build id is the first 12 hex digits of a SHA-256 over the sources,
# VERSION and the version string.
#
# Reproducible: the same inputs and JDK give a byte-identical jar (sorted entries, fixed entry dates).
# Idempotent: when the inputs match those of the last successful build (build/.inputs) and the jar is
# there, it prints "hello-jvm: up to date" and changes nothing. JAVA_HOME is used when set.
set -eu

cd "$(dirname "$0")"

# Entry dates in the jar (jar --date); any fixed time from 1980 to 2099 would do.
JAR_DATE=2026-01-01T00:00:00Z
JAR=build/hello-jvm.jar
STAMP=build/.inputs

say() { printf 'hello-jvm: %s\n' "$*"; }
die() { printf 'hello-jvm: error: %s\n' "$*" >&2; exit 1; }
usage() { printf 'usage: build.sh [--version V]\n'; }

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum | cut -c1-64
  else
    shasum -a 256 | cut -c1-64
  fi
}

version=
while [ $# -gt 0 ]; do
  case $1 in
    --version)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      version=$2
      shift 2
      ;;
    --version=*)
      version=${1#--version=}
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      printf 'hello-jvm: unknown argument: %s\n' "$1" >&2
      usage >&2
      exit 2
      ;;
  esac
done

[ -f VERSION ] || die "VERSION is missing"
if [ -z "$version" ]; then
  version=$(sed -n '1{s/[[:space:]]//g;p;}' VERSION)
fi
case $version in
  '' | *[!A-Za-z0-9._+-]*) die "invalid version '$version': use letters, digits and . _ + -" ;;
esac

if [ -n "${JAVA_HOME:-}" ]; then
  javac=$JAVA_HOME/bin/javac
  jar=$JAVA_HOME/bin/jar
  if [ ! -x "$javac" ] || [ ! -x "$jar" ]; then
    die "JAVA_HOME=$JAVA_HOME has no bin/javac and bin/jar (a JRE rather than a JDK?)"
  fi
else
  javac=$(command -v javac) || die "javac not found: install a JDK 17 or newer (openjdk-17-jdk-headless) or set JAVA_HOME"
  jar=$(command -v jar) || die "jar not found next to javac: install a full JDK or set JAVA_HOME"
fi
javac_version=$("$javac" -version 2>&1) || die "cannot run $javac"
major=$(printf '%s\n' "$javac_version" | sed -n 's/^javac \([0-9][0-9]*\).*/\1/p')
if [ -z "$major" ] || [ "$major" -lt 17 ]; then
  die "$javac is '$javac_version'; JDK 17 or newer is needed"
fi

[ -d src/main/java ] || die "no src/main/java in $(pwd)"
build=$(
  {
    find src -type f | LC_ALL=C sort | while IFS= read -r f; do
      printf '%s %s\n' "$(sha256 <"$f")" "$f"
    done
    printf '%s VERSION\n' "$(sha256 <VERSION)"
    printf 'version=%s\n' "$version"
  } | sha256 | cut -c1-12
)
# The build id, plus what else makes a different jar: this script and the JDK.
stamp="$build $(sha256 <build.sh | cut -c1-12) $javac_version"

if [ -f "$JAR" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$stamp" ]; then
  say "up to date"
  exit 0
fi

rm -f "$STAMP"
rm -rf build/classes build/tmp
mkdir -p build/classes build/tmp

find src/main/java -type f -name '*.java' | LC_ALL=C sort >build/tmp/sources
[ -s build/tmp/sources ] || die "no Java sources under src/main/java"
if ! "$javac" --release 17 -encoding UTF-8 -Xlint:all -d build/classes @build/tmp/sources; then
  die "compilation failed (javac's errors are above); $JAR was left as it was"
fi

printf 'version=%s\nbuild=%s\n' "$version" "$build" >build/classes/build.properties
printf 'Main-Class: jvmops.hello.Main\nImplementation-Title: hello-jvm\nImplementation-Version: %s\n' "$version" >build/tmp/manifest
# Entries in a fixed order: -C build/classes <file>, sorted.
(cd build/classes && find . -type f | sed 's|^\./||' | LC_ALL=C sort) | while IFS= read -r f; do
  printf -- '-C\nbuild/classes\n%s\n' "$f"
done >build/tmp/entries
"$jar" --create --file build/tmp/hello-jvm.jar --manifest build/tmp/manifest --date="$JAR_DATE" @build/tmp/entries ||
  die "jar failed"
mv -f build/tmp/hello-jvm.jar "$JAR"
rm -rf build/tmp
printf '%s\n' "$stamp" >"$STAMP"
say "built $version ($build)"
