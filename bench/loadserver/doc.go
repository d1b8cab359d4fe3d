// Command loadserver starts a broker with N generated bundles and, beside
// it, a baseline server returning the same catalog bytes with bare
// net/http, then prints both URLs and serves until interrupted. The load
// script (bench/catalog-load.sh) drives both with wrk in the same run.
package main
