package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if len(os.Args) < 4 || os.Args[2] != "--extra-vars" {
		fmt.Fprintln(os.Stderr, "usage: fakebundle <action> --extra-vars <json>")
		os.Exit(1)
	}
	if os.Args[1] != "provision" {
		fmt.Printf("'%s' NOT IMPLEMENTED\n", os.Args[1])
		os.Exit(8)
	}
	var vars map[string]any
	if err := json.Unmarshal([]byte(os.Args[3]), &vars); err != nil {
		fmt.Fprintln(os.Stderr, "extra vars:", err)
		os.Exit(1)
	}
	dir := os.Getenv("APB_RESULTS_DIR")
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	write("last_operation", "50%: working")
	fmt.Println("working")
	secs, _ := vars["sleep_seconds"].(float64)
	time.Sleep(time.Duration(secs * float64(time.Second)))
	creds, _ := json.Marshal(map[string]string{"FAKE_USER": "fake"})
	write("fields", base64.StdEncoding.EncodeToString(creds))
	write("last_operation", "100%: done")
	fmt.Println("done")
}
