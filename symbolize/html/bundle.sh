#!/bin/sh
# bundle.sh — the HTML report's libraries as one script, built into the
# symbolizer (symbolize/html_assets.c; docs/html.md).
#
#   symbolize/html/bundle.sh NODE_MODULES OUT
#
# NODE_MODULES is what `npm ci` installed from package-lock.json (make deps
# puts it in build/npm/node_modules).  OUT gets each package's minified UMD
# script, dependencies first, each after a comment with its name, version
# and licence (the licences ask that their notice go with every copy, and
# every report is one).  The d3 modules' scripts extend the global `d3`,
# d3-flame-graph's sets `flamegraph`; internmap is inside d3-array's.
#
# The result goes between <script> and </script> in every report, so it
# must hold neither "</script" (it would end the script there) nor "<!--"
# (it changes how the HTML parser reads a script): a newer version that
# does fails here, not in a browser.  So does a package the lockfile
# brings that is not listed below.
set -eu
nm=$1
out=$2

# In the order they load: each after the ones its UMD header requires.
D3="d3-array d3-color d3-dispatch d3-ease d3-format d3-hierarchy d3-interpolate d3-selection
    d3-time d3-time-format d3-scale d3-timer d3-transition"
INSIDE="internmap"

for dir in "$nm"/*; do
	p=${dir##*/}
	case " $(echo $D3) d3-flame-graph $INSIDE " in
	*" $p "*) ;;
	*) echo "bundle.sh: $p is installed but not bundled: add it to $0" >&2; exit 1 ;;
	esac
done

script_of() {
	if [ "$1" = d3-flame-graph ]; then
		echo "$nm/d3-flame-graph/dist/d3-flamegraph.umd.min.js"
	else
		echo "$nm/$1/dist/$1.min.js"
	fi
}

tmp=$out.tmp
: >"$tmp"
for p in $D3 d3-flame-graph; do
	js=$(script_of "$p")
	[ -f "$js" ] || { echo "bundle.sh: $js: missing (run make deps)" >&2; exit 1; }
	version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$nm/$p/package.json" | head -n 1)
	{
		printf '/*! %s %s — its licence:\n' "$p" "$version"
		sed 's,\*/,* /,g' "$nm/$p/LICENSE"
		printf '*/\n'
		cat "$js"
		printf '\n'
	} >>"$tmp"
done
if grep -i -n -e '</script' -e '<!--' "$tmp" >&2; then
	echo "bundle.sh: the lines above would break the page's <script>" >&2
	rm -f "$tmp"
	exit 1
fi
mv "$tmp" "$out"
