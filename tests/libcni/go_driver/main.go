// A tiny driver over Go's libcni (Debian golang-github-containernetworking-cni-dev), used only by
// the differential tests: it runs one network-list operation with the given cache directory so
// the requests plugins receive and the cache files written can be compared with ours.
//
// usage: go-libcni add|check|del <conflist file or conf dir> <container id> <netns> <ifname> <cache dir>
// env: CNI_PATH, CNI_ARGS (k=v;...), CAP_ARGS (JSON object), CNI_NETWORK (with a conf dir)
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func run() error {
	if len(os.Args) != 7 {
		return fmt.Errorf("usage: %s add|check|del <conflist> <container id> <netns> <ifname> <cache dir>", os.Args[0])
	}
	var list *libcni.NetworkConfigList
	var err error
	if st, serr := os.Stat(os.Args[2]); serr == nil && st.IsDir() {
		// a conf dir: pick the network named $CNI_NETWORK the way runtimes do
		list, err = libcni.LoadConfList(os.Args[2], os.Getenv("CNI_NETWORK"))
	} else {
		list, err = libcni.ConfListFromFile(os.Args[2])
	}
	if err != nil {
		return err
	}
	rt := &libcni.RuntimeConf{ContainerID: os.Args[3], NetNS: os.Args[4], IfName: os.Args[5]}
	if v := os.Getenv("CAP_ARGS"); v != "" {
		if err := json.Unmarshal([]byte(v), &rt.CapabilityArgs); err != nil {
			return err
		}
	}
	if v := os.Getenv("CNI_ARGS"); v != "" {
		for _, pair := range strings.Split(v, ";") {
			kv := strings.SplitN(pair, "=", 2)
			rt.Args = append(rt.Args, [2]string{kv[0], kv[1]})
		}
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(os.Getenv("CNI_PATH")), os.Args[6], nil)
	ctx := context.Background()
	switch os.Args[1] {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			return err
		}
		return result.Print()
	case "check":
		return cni.CheckNetworkList(ctx, list, rt)
	case "del":
		return cni.DelNetworkList(ctx, list, rt)
	}
	return fmt.Errorf("unknown command %q", os.Args[1])
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s\n", err)
		os.Exit(1)
	}
}
