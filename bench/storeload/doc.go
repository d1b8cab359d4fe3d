// Command storeload measures the broker's state store and memory under a
// platform's churn: provision/deprovision cycles over HTTP against a
// broker with 1,000 bundles and the in-process runtime, reporting RSS
// idle and after load, the store's size on disk and the start-up time on
// the store the load left. bench/store-load.sh runs it against the
// current tree and against a baseline tree built from the same source, in
// the same run.
//
//	storeload serve -dir D -addr 127.0.0.1:P   a broker (SIGUSR1 writes a heap profile)
//	storeload drive -current BIN -baseline BIN  the measurement, both brokers in turn
package main
