package main

import (
	"fmt"
	"io"

	"github.com/flux-companion/flux/listener/webpushclient"
)

// cmdVAPID prints a new VAPID key pair as the environment lines flux listen reads. Generate it
// once per deployment and keep it: browsers subscribe against the public key, and a new pair
// orphans every subscription.
func cmdVAPID(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "flux vapid takes no arguments\n")
		return 2
	}
	public, private, err := webpushclient.GenerateVAPIDKeys()
	if err != nil {
		fmt.Fprintf(stderr, "flux vapid: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "VAPID_PUBLIC_KEY=%s\nVAPID_PRIVATE_KEY=%s\n", public, private)
	return 0
}
