// Package network gives containers a network of their own: a bridge on the
// host, a veth pair per container, an address from a small IPAM, a default
// route, outbound NAT, published ports, and names for the containers of a
// user-defined network. It is what `--network bridge` (the default) and
// `skiff network create` do; `--network host` and `--network none` need
// none of it.
//
// # Network namespaces
//
// A network namespace is a private copy of the kernel's network stack:
// its own interfaces, addresses, routes, firewall rules, sockets, and
// /proc/sys/net settings. A process started with CLONE_NEWNET gets a new
// one holding nothing but a loopback interface, and that one down: it can
// reach nobody, not even itself. That is `--network none` once lo is up.
// The namespace lives as long as a process is in it (or a file descriptor
// or a bind mount refers to it); when it goes, its interfaces go too.
//
// [Manager.Attach] is given the PID of the container's first process,
// which waits until the network is ready; /proc/PID/ns/net is its
// namespace, and netlink sockets opened there configure it from outside.
//
// # veth pairs
//
// A veth pair is two Ethernet interfaces joined by a virtual cable: what
// goes in one comes out of the other. The two ends may live in different
// namespaces, which makes it the way in and out of one. Attach creates the
// pair with one request, the host end named skiffXXXXXXX (random hex) and
// the other created directly in the container's namespace under its final
// name, eth0 (eth1 on a second network):
//
//	ip link add skiff3fa9c1e mtu 1500 up master skiff0 type veth \
//	    peer name eth0 address 02:42:ac:1d:00:02 netns PID
//
// The container's MAC address is derived from its IP address, as Docker
// does, so that a reused address comes with the same MAC and its peers'
// ARP caches stay right. Deleting either end deletes both.
//
// # Bridges
//
// A Linux bridge is a virtual Ethernet switch: it learns which MAC address
// is behind which of its ports and forwards frames between them. Each host
// end of a veth is a port of the network's bridge, so all containers of a
// network share one Ethernet segment and reach each other directly. The
// bridge is also an interface of the host: its address, the first of the
// subnet, is the containers' gateway, and the host itself is reachable
// there. skiff0 is the bridge of the default network "bridge"; a
// user-defined network gets skiff-XXXXXXXX. A bridge appears with the
// first container of its network and stays until the network is removed
// (skiff0: until removed by hand), as Docker's docker0 does.
//
// # Addresses (IPAM)
//
// IP address management hands out addresses of the network's subnet:
// never the network address (all host bits 0), the broadcast address (all
// 1), the gateway, or one in use. The record of who holds what is the
// network's endpoints.json under <root>/networks/<name>/, changed by every
// skiff process under an flock(2) on the network's lock file, and written
// through a temporary file and rename(2). Each allocation is recorded
// before any interface exists, so what a crash leaves behind is always
// found again. A search starts after the address handed out last, so a
// freed address is reused as late as possible. The default network is
// 172.29.0.0/16 (configurable: [Options]); user-defined ones get the
// first /24 of 172.30.0.0/16 that overlaps no other network and no route
// of the host, or a subnet of their own.
//
// That record is one store's (--root), but the bridge is not: it belongs
// to the network namespace, where every store's default network is
// skiff0. So an address in use on a bridge also has a lease, shared by all
// the stores of the host: a file named after the address, in a directory
// per bridge ([DefaultLeaseDir], configurable: [Options]):
//
//	/run/skiff/leases/4026531840-skiff0/172.29.0.2
//
// The number is the inode of the namespace the bridge is in, as in
// `readlink /proc/self/ns/net` ("net:[4026531840]"). The lease names its
// holder: the container, the process and inode of its network namespace,
// and its veth. The IPAM skips an address leased to a container whose
// namespace lives; a lease whose holder's namespace is gone (its store
// crashed, or was deleted) is stale and taken over. A lease is written
// before its endpoint is recorded and removed as it is released, every
// change under flock(2) on the bridge's directory, which goes with its
// last lease. /run is a tmpfs: leases vanish at reboot, as bridges do.
//
// # Routes
//
// Giving eth0 an address adds a route to the subnet through it; Attach
// adds the default route through the gateway:
//
//	ip addr add 172.29.0.2/16 dev eth0; ip link set eth0 up
//	ip link set lo up
//	ip route add default via 172.29.0.1
//
// A container on two networks gets the default route of the first only.
//
// # Leaving the host: forwarding and masquerade
//
// A packet from a container to the internet reaches the host through the
// bridge and must be routed on, out of the host's uplink. Linux routes
// between interfaces only if net.ipv4.ip_forward is 1 (0 by default: a
// host is not a router), and skiff sets it, as Docker does. This is a
// setting of the whole host, for all its interfaces, not only skiff's:
// the host will from now on route packets it receives for other hosts,
// which matters on a machine with several networks. skiff does not set it
// back; the info message says when it was set.
//
// Routed out, the packet still has the container's private source address,
// which nobody outside can answer. Masquerading rewrites it to the address
// of the interface it leaves by, and conntrack undoes the rewrite for the
// replies:
//
//	table ip skiff-bridge {
//		chain postrouting {
//			type nat hook postrouting priority srcnat; policy accept;
//			ip saddr 172.29.0.0/16 oifname != "skiff0" masquerade
//		}
//	}
//
// One table per network, so that skiff never edits a table it does not
// own, and removing a network is one "delete table". Without nft, the
// same rule goes into iptables' nat table with a comment to find it by.
// Without either, a warning says so once: containers then reach the host
// and each other, not beyond.
//
// # Published ports: a forwarder, not DNAT
//
// `-p 8080:80` must make the container's port 80 answer on the host's port
// 8080, to other machines and to the host itself, through 127.0.0.1 too.
// Docker's default does it with a DNAT rule in PREROUTING, plus one in
// OUTPUT for connections from the host, route_localnet for 127.0.0.1, and
// docker-proxy for what the rules miss. skiff uses only the last idea: a
// userland forwarder in the process that watches the container (the
// foreground `skiff run`, or the monitor of a detached one). It listens on
// the host port, accepts, connects to the container's address through the
// bridge, and copies both ways (splice(2) between the two TCP sockets);
// for UDP it keeps one connected socket per client address.
//
//	  client: another machine, or the host itself (127.0.0.1:8080)
//	    |
//	+---|------------------ host network namespace ----------------+
//	|   v                                                          |
//	|  skiff, watcher of "web": listens on 0.0.0.0:8080            |
//	|   |  accepts, then connects to 172.29.0.2:80                 |
//	|   v                                                          |
//	|  skiff0 172.29.0.1/16 (bridge; the containers' gateway)      |
//	|   |                                                          |
//	|  skiff3fa9c1e (host end of the veth pair, a port of skiff0)  |
//	+---|----------------------------------------------------------+
//	    |  veth pair
//	+---|------------- network namespace of "web" -----------------+
//	|  eth0 172.29.0.2/16, default route via 172.29.0.1            |
//	|  httpd listening on :80                                      |
//	+--------------------------------------------------------------+
//
// Why: it answers on 127.0.0.1 and on the host's own addresses with no
// firewall rule at all and no route_localnet (which makes the kernel route
// 127.0.0.0/8 packets, a known way to reach local services from outside);
// it works on hosts without nft or iptables; and it cannot leak: the
// listening socket closes when its process ends, even when it is killed,
// so a crash leaves no rule behind. The price: every byte passes through a
// process, and the container sees connections coming from the gateway,
// not from the client's address. A port in use makes Attach fail at once.
//
// # Names: /etc/hosts
//
// Containers of a user-defined network reach each other by name. Docker
// runs a DNS server for that; skiff writes /etc/hosts, the simplest thing
// that works: each container's hosts file gets a block per network with
// its own address and, on a user-defined network, those of its peers,
// under their container names and hostnames. Attach and Detach rewrite
// the block in every peer's file, in place (the file is bind mounted into
// the container, and a bind mount follows the inode). As in Docker,
// containers on the default network know no names but their own.
// [ResolvConf] turns the host's resolv.conf into the container's.
//
// # Teardown and crashes
//
// [Manager.Detach] stops the container's forwarders, deletes its veth pair
// (if the container still runs: when its namespace dies, the kernel
// deletes the pair by itself), frees the address and rewrites the hosts
// files. It can run any number of times. A watcher killed with SIGKILL
// cannot detach: its forwarders die with it, the rest waits for
// [Manager.Reconcile], which releases the endpoints of containers that
// are gone and deletes veths on skiff's bridges that no endpoint records,
// of this store or, through their leases, of another.
//
// # Threads and namespaces in Go
//
// setns(2) moves one thread, not a process, and Go moves goroutines
// between threads. A [Manager] keeps a handle on the namespace it was
// opened in; netlink sockets are opened there once, and what the kernel
// ties to the calling thread's namespace (a new socket, a file under
// /proc/sys/net, a forked nft) is done by a goroutine locked to a thread
// that enters that namespace. So a Manager opened in a test's namespace
// works there from any goroutine, and never on the real host.
//
// # References
//
//   - network_namespaces(7): https://man7.org/linux/man-pages/man7/network_namespaces.7.html
//   - veth(4): https://man7.org/linux/man-pages/man4/veth.4.html
//   - ip-link(8), ip-address(8), ip-route(8): https://man7.org/linux/man-pages/man8/ip-link.8.html
//   - nft(8): https://www.netfilter.org/projects/nftables/manpage.html
//   - iptables-extensions(8), MASQUERADE: https://ipset.netfilter.org/iptables-extensions.man.html
//   - ip-sysctl, ip_forward: https://docs.kernel.org/networking/ip-sysctl.html
//   - flock(2), setns(2), splice(2), hosts(5)
//
// # Limitations
//
//   - IPv4 only: no IPv6 addresses, routes or NAT for containers.
//   - Names through /etc/hosts, not DNS: no aliases, and a program that
//     caches lookups misses peers that come later.
//   - Published ports through a userland forwarder: the container sees the
//     gateway as the source of every connection; each byte crosses a
//     process; UDP answers leave from whichever host address the route
//     picks, which a client that connected to another address drops.
//     Docker's default is DNAT in the kernel, with docker-proxy as its
//     fallback.
//   - Port ranges map one to one; Docker's "8000-8010:80" (any free port of
//     a range) is refused.
//   - No isolation between networks: the host routes between its bridges,
//     so containers of different networks reach each other by address.
//     Docker adds filter rules (DOCKER-ISOLATION) for that.
//   - A firewall whose forward chain drops by default (as Docker's sets
//     iptables' FORWARD) drops containers' outbound traffic too; skiff
//     adds no accept rule for it.
//   - The NAT rule is installed when the bridge is made; rules flushed
//     later (a firewall reload) come back only when the bridge does.
//   - net.ipv4.ip_forward is set for the whole host and never set back.
//   - The default bridge and its NAT table stay when unused, as docker0
//     does: `ip link del skiff0; nft delete table ip skiff-bridge` removes
//     them.
//   - A container whose namespace outlives its first process (--pid host,
//     a process that escaped) keeps its veth after Detach until the next
//     Reconcile.
package network
