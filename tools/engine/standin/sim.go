package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// simRequest calls the simulated cluster's control API (tools/simcluster/talos/talos-api/control.go) at
// envSim, which must be a loopback address: the stand-ins reach nothing else.
func simRequest(method, path string, body any) error {
	addr := os.Getenv(envSim)
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("stand-in: %s=%q is not a loopback host:port; the simulated cluster listens on 127.0.0.0/8 only", envSim, addr)
	}
	var payload io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		payload = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, payload)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("stand-in: the simulated cluster: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		text, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("stand-in: the simulated cluster refused %s %s: %s", method, path, strings.TrimSpace(string(text)))
	}
	return nil
}
