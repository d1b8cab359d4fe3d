// Command bare is the baseline of bench/emulator: a bare net/http server
// that prints a ready line as the emulator does and answers every GET with
// the body it was given, so the emulator's figures are read against what
// net/http alone costs on the same machine in the same run.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	body := flag.String("body", `{}`, "the JSON answered to every request")
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
	b := []byte(*body)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	fmt.Printf("bare ready: http://%s\n", ln.Addr())
	if err := http.Serve(ln, h); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}
