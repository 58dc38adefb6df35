/*
 * report_html.c — the HTML report: one self-contained page (see
 * docs/html.md).
 *
 * The page is the viewer's style sheet, the profile as JSON
 * (report_htmldata.c) in a <script type="application/json">, then d3 and
 * d3-flame-graph, then the viewer's script (html_assets.c): everything in
 * the one file, so that it opens from a mail or a ticket with no network.
 * A Content-Security-Policy forbids every request but data: images, so a
 * page that tried to fetch anything would fail loudly rather than leak.
 *
 * What goes between the tags is safe there: the JSON has no '<' (jsonw.h)
 * and the assets hold no "</script" or "</style" (bundle.sh checks the
 * libraries; test_html the rest).  The only text from the profile outside
 * the JSON is the title, HTML-escaped.
 */
#include <string.h>

#include "report_html.h"

/* s as HTML text: the five characters that could open markup or end an
 * attribute escaped. */
static void html_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
}

static void write_head(const struct report_input *in, FILE *out)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"lockcontend-symbolize\">\n"
	      "<link rel=\"icon\" href=\"data:,\">\n<title>Lock contention: ",
	      out);
	if (in->ndumps == 1)
		html_text(out, in->dumps[0].exe ? in->dumps[0].exe : "");
	else
		fprintf(out, "%zu dumps", in->ndumps);
	fputs("</title>\n<style>\n", out);
	fputs(html_asset_css, out);
	fputs("</style>\n</head>\n", out);
}

void report_html_write(const struct report_input *in, FILE *out)
{
	write_head(in, out);
	fputs("<body>\n<noscript>This report is drawn by its scripts: open it in a browser with "
	      "JavaScript on (it needs no network).</noscript>\n<div id=\"lc-app\"></div>\n"
	      "<script type=\"application/json\" id=\"lc-data\">",
	      out);
	report_htmldata_write(in, out);
	fputs("</script>\n<script>\n", out);
	fputs(html_asset_lib, out);
	fputs("</script>\n<script>\n", out);
	fputs(html_asset_viewer, out);
	fputs("</script>\n</body>\n</html>\n", out);
}
