// Package uitest drives the indexer's marketplace web page in a real
// headless Chromium (chromedp). It runs only when MESH_TEST_CHROMIUM names
// the browser binary (scripts/chromium.sh installs one and prints its
// path); otherwise it skips, so `make test` needs no browser. Screenshots
// go to $MESH_ARTIFACTS (default: artifacts/ at the repository root).
package uitest
