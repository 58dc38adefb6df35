/*
 * html_assets.c — the HTML report's scripts and style sheet, built into
 * the symbolizer, so that a report needs no file but itself and the
 * symbolizer no file at run time (report_html.h).
 *
 * The assembler copies the files in (.incbin), each followed by a NUL:
 * the d3 and d3-flame-graph bundle that `make deps` installs and
 * symbolize/html/bundle.sh joins (build/html/lib.js), and the viewer's
 * own script and style sheet.  The paths are the Makefile's (-D), relative
 * to the directory make runs in; the defaults are its own.
 */
#include "report_html.h"

#ifndef HTML_LIB_JS
#define HTML_LIB_JS "build/html/lib.js"
#endif
#ifndef HTML_VIEWER_JS
#define HTML_VIEWER_JS "symbolize/html/viewer.js"
#endif
#ifndef HTML_VIEWER_CSS
#define HTML_VIEWER_CSS "symbolize/html/viewer.css"
#endif

#define HTML_ASSET(name, path)                 \
	".globl " name "\n"                    \
	".type " name ", @object\n" name ":\n" \
	".incbin \"" path "\"\n"               \
	".byte 0\n"                            \
	".size " name ", . - " name "\n"

__asm__(".pushsection .rodata\n" HTML_ASSET("html_asset_lib", HTML_LIB_JS)
            HTML_ASSET("html_asset_viewer", HTML_VIEWER_JS)
                HTML_ASSET("html_asset_css", HTML_VIEWER_CSS) ".popsection\n");
