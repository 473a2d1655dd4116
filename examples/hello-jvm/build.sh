#!/bin/sh
# Builds build/hello-jvm.jar with the JDK alone (javac and jar: no Maven, no libraries), and with --war also
# build/hello-jvm.war for a Jakarta Servlet 5+ container (Tomcat 10).
#
#   ./build.sh [--version V] [--war [--servlet-api JAR]]
#
#   --version V        V defaults to the first line of VERSION
#   --war              also build the war: src/war/java compiled against the servlet API, src/war/webapp,
#                      build.properties in WEB-INF/classes and the jar in WEB-INF/lib
#   --servlet-api JAR  the servlet API to compile against: default $SERVLET_API_JAR, else Debian's
#                      /usr/share/java/jakarta-servlet-api.jar (libjakarta-servlet-api-java). Only the war
#                      needs it.
#
# The jar holds the classes, build.properties (version, build), copies of config/ and public/ (under
# jvmops/hello/, with an index of public/ in jvmops/hello/public.index: what the app reads when run as
# java -jar without them) and a manifest with Main-Class and Implementation-Title/-Version. The build id is the
# first 12 hex digits of a SHA-256 over the files of src/, config/ and public/, VERSION and the version string;
# the jar and the war have the same.
#
# Reproducible: the same inputs and JDK give a byte-identical jar and war (sorted entries, fixed entry dates).
# Idempotent: when the inputs match those of the last successful build (build/.inputs, build/.inputs-war for
# the war) and the output is there, it prints "hello-jvm: up to date" ("hello-jvm: war up to date") and changes
# nothing. JAVA_HOME is used when set.
set -eu

cd "$(dirname "$0")"

# Entry dates in the jar (jar --date); any fixed time from 1980 to 2099 would do.
JAR_DATE=2026-01-01T00:00:00Z
JAR=build/hello-jvm.jar
STAMP=build/.inputs
WAR=build/hello-jvm.war
WAR_STAMP=build/.inputs-war
DEFAULT_SERVLET_API=/usr/share/java/jakarta-servlet-api.jar

say() { printf 'hello-jvm: %s\n' "$*"; }
die() { printf 'hello-jvm: error: %s\n' "$*" >&2; exit 1; }
usage() { printf 'usage: build.sh [--version V] [--war [--servlet-api JAR]]\n'; }

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum | cut -c1-64
  else
    shasum -a 256 | cut -c1-64
  fi
}

# The regular files under directory $1 (relative to it with $2=rel), sorted, one a line.
files() {
  if [ "${2:-}" = rel ]; then
    (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
  else
    find "$1" -type f | LC_ALL=C sort
  fi
}

# Copies the regular files under directory $1 into directory $2.
copy_tree() {
  files "$1" rel | while IFS= read -r f; do
    mkdir -p "$2/$(dirname "$f")"
    cp "$1/$f" "$2/$f"
  done
}

# jar --create $1 (the archive) with manifest $2 from the files under directory $3, in sorted order.
make_archive() {
  files "$3" rel | while IFS= read -r f; do
    printf -- '-C\n%s\n%s\n' "$3" "$f"
  done >"$1.entries"
  "$jar" --create --file "$1" --manifest "$2" --date="$JAR_DATE" @"$1.entries" || die "jar failed for $1"
  rm -f "$1.entries"
}

version=
war=false
servlet_api=
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
    --war)
      war=true
      shift
      ;;
    --servlet-api)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      servlet_api=$2
      shift 2
      ;;
    --servlet-api=*)
      servlet_api=${1#--servlet-api=}
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

if [ -n "$servlet_api" ] && [ "$war" = false ]; then
  printf 'hello-jvm: --servlet-api is for the war: add --war\n' >&2
  usage >&2
  exit 2
fi

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
if [ "$war" = true ]; then
  # Checked before anything is built: the default build does not need it.
  servlet_api=${servlet_api:-${SERVLET_API_JAR:-$DEFAULT_SERVLET_API}}
  [ -f "$servlet_api" ] ||
    die "the servlet API jar $servlet_api is missing: install libjakarta-servlet-api-java or pass --servlet-api JAR (or set SERVLET_API_JAR)"
  if [ ! -d src/war/java ] || [ ! -f src/war/webapp/WEB-INF/web.xml ]; then
    die "no src/war/java and src/war/webapp/WEB-INF/web.xml in $(pwd)"
  fi
fi
build=$(
  {
    for dir in src config public; do
      [ -d "$dir" ] || continue
      files "$dir" | while IFS= read -r f; do
        printf '%s %s\n' "$(sha256 <"$f")" "$f"
      done
    done
    printf '%s VERSION\n' "$(sha256 <VERSION)"
    printf 'version=%s\n' "$version"
  } | sha256 | cut -c1-12
)
# The build id, plus what else makes a different jar: this script and the JDK.
stamp="$build $(sha256 <build.sh | cut -c1-12) $javac_version"

if [ -f "$JAR" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$stamp" ]; then
  say "up to date"
else
  rm -f "$STAMP"
  rm -rf build/classes build/tmp
  mkdir -p build/classes build/tmp

  find src/main/java -type f -name '*.java' | LC_ALL=C sort >build/tmp/sources
  [ -s build/tmp/sources ] || die "no Java sources under src/main/java"
  if ! "$javac" --release 17 -encoding UTF-8 -Xlint:all -d build/classes @build/tmp/sources; then
    die "compilation failed (javac's errors are above); $JAR was left as it was"
  fi

  printf 'version=%s\nbuild=%s\n' "$version" "$build" >build/classes/build.properties
  # config/ and public/ for java -jar from anywhere and for the war (the app's AppConfig and StaticFiles).
  [ ! -d config ] || copy_tree config build/classes/jvmops/hello/config
  if [ -d public ]; then
    copy_tree public build/classes/jvmops/hello/public
    files public rel >build/classes/jvmops/hello/public.index
  fi
  printf 'Main-Class: jvmops.hello.Main\nImplementation-Title: hello-jvm\nImplementation-Version: %s\n' "$version" >build/tmp/manifest
  make_archive build/tmp/hello-jvm.jar build/tmp/manifest build/classes
  mv -f build/tmp/hello-jvm.jar "$JAR"
  rm -rf build/tmp
  printf '%s\n' "$stamp" >"$STAMP"
  say "built $version ($build)"
fi

[ "$war" = true ] || exit 0

# The war: what makes the jar, plus the servlet API it is compiled against.
war_stamp="$stamp $(sha256 <"$servlet_api" | cut -c1-12)"
if [ -f "$WAR" ] && [ -f "$WAR_STAMP" ] && [ "$(cat "$WAR_STAMP")" = "$war_stamp" ]; then
  say "war up to date"
  exit 0
fi

rm -f "$WAR_STAMP"
rm -rf build/war build/war-tmp
mkdir -p build/war/WEB-INF/classes build/war/WEB-INF/lib build/war-tmp

find src/war/java -type f -name '*.java' | LC_ALL=C sort >build/war-tmp/sources
[ -s build/war-tmp/sources ] || die "no Java sources under src/war/java"
if ! "$javac" --release 17 -encoding UTF-8 -Xlint:all -cp "$JAR:$servlet_api" -d build/war/WEB-INF/classes @build/war-tmp/sources; then
  die "compilation of the war failed (javac's errors are above); $WAR was left as it was"
fi
copy_tree src/war/webapp build/war
cp build/classes/build.properties build/war/WEB-INF/classes/build.properties
cp "$JAR" build/war/WEB-INF/lib/hello-jvm.jar
printf 'Implementation-Title: hello-jvm\nImplementation-Version: %s\n' "$version" >build/war-tmp/manifest
make_archive build/war-tmp/hello-jvm.war build/war-tmp/manifest build/war
mv -f build/war-tmp/hello-jvm.war "$WAR"
rm -rf build/war-tmp
printf '%s\n' "$war_stamp" >"$WAR_STAMP"
say "war built $version ($build)"
