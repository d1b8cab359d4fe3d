// Package regtest builds bundle images with go-containerregistry and runs
// what registry tests talk to: Debian's docker-registry on 127.0.0.1 (with
// htpasswd basic auth or Bearer tokens from TokenServer).
package regtest
