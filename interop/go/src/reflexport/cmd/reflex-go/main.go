// Command reflex-go is a Reflex server, a Reflex client (local SOCKS5) and
// a conformance vector checker, written from SPEC.md alone.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"reflexport/client"
	"reflexport/decide"
	"reflexport/replay"
	"reflexport/server"
	"reflexport/shape"
	"reflexport/vectors"
)

const usage = "usage: reflex-go server|client|check ..."

// usageError is a bad command line: one line, exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "reflex-go: missing subcommand; "+usage)
		return 2
	}
	var err error
	switch args[0] {
	case "server":
		err = runServer(args[1:], stderr)
	case "client":
		err = runClient(args[1:], stderr)
	case "check":
		return runCheck(args[1:], stdout, stderr)
	default:
		err = usageError{fmt.Sprintf("unknown subcommand %q; %s", args[0], usage)}
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "reflex-go: "+ue.msg)
		return 2
	default:
		fmt.Fprintln(stderr, "reflex-go: "+err.Error())
		return 1
	}
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return err
		}
		return usageError{fs.Name() + ": " + err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

func parseUsers(name string, list []string) ([][16]byte, error) {
	if len(list) == 0 {
		return nil, usageError{name + ": at least one --user UUID is required"}
	}
	var users [][16]byte
	for _, s := range list {
		u, ok := decide.ParseUUID(s)
		if !ok {
			return nil, usageError{fmt.Sprintf("%s: --user %q is not a UUID", name, s)}
		}
		users = append(users, u)
	}
	return users, nil
}

// checkHostPort validates HOST:PORT; port 0 is allowed only where the
// address is listened on.
func checkHostPort(name, flagName, v string, listen bool) error {
	if v == "" {
		return usageError{fmt.Sprintf("%s: --%s HOST:PORT is required", name, flagName)}
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return usageError{fmt.Sprintf("%s: --%s %q: %v", name, flagName, v, err)}
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || (n == 0 && !listen) {
		return usageError{fmt.Sprintf("%s: --%s %q: bad port", name, flagName, v)}
	}
	return nil
}

// shapeFlags are --first-flight, --first-flight-host and
// --first-flight-path, the same on server and client (SPEC.md 11.8).
type shapeFlags struct{ kind, host, path *string }

func addShapeFlags(fs *flag.FlagSet) shapeFlags {
	return shapeFlags{
		kind: fs.String("first-flight", "raw", "v2's first flight: raw (76 random-looking bytes), http (a GET request head) "+
			"or tls (a ClientHello); the same on client and server (SPEC.md 11.8)"),
		host: fs.String("first-flight-host", "", "http and tls: the Host header or server_name it names"),
		path: fs.String("first-flight-path", "/", "http: what the request's path starts with"),
	}
}

// shape returns the configured shape: http and tls need a host (1 to 253
// of A-Z a-z 0-9 - .), http a path ('/' then up to 63 of A-Z a-z 0-9 -
// . _ ~ /). A parameter the shape does not use is ignored, as v1-compat
// ignores the shape (its hellos are never shaped).
func (f shapeFlags) shape(name string) (shape.Shape, error) {
	k, ok := shape.ParseKind(*f.kind)
	if !ok {
		return shape.Shape{}, usageError{fmt.Sprintf("%s: unknown --first-flight %q (raw, http or tls)", name, *f.kind)}
	}
	sh := shape.Shape{Kind: k}
	if k == shape.Raw {
		return sh, nil
	}
	if *f.host == "" {
		return sh, usageError{fmt.Sprintf("%s: --first-flight %s needs --first-flight-host", name, k)}
	}
	sh.Host = *f.host
	if k == shape.HTTP {
		sh.Path = *f.path
	}
	if err := sh.Validate(); err != nil {
		return sh, usageError{fmt.Sprintf("%s: %v", name, err)}
	}
	return sh, nil
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

func runServer(args []string, stderr io.Writer) error {
	ctx, stop := signalContext()
	defer stop()
	return serveServer(ctx, args, stderr, nil)
}

// serveServer runs the server until ctx is done; ready, if not nil, is
// told the listening address once the server accepts connections.
func serveServer(ctx context.Context, args []string, stderr io.Writer, ready func(net.Addr)) error {
	fs := newFlagSet("server", stderr)
	listen := fs.String("listen", "", "HOST:PORT to listen on")
	fallback := fs.String("fallback", "", "HOST:PORT of the fallback web server")
	var users, profiles multi
	fs.Var(&users, "user", "a user UUID (repeatable)")
	fs.Var(&profiles, "profile", "v2 or v1-compat (repeatable; default v2 only)")
	helloWait := fs.Duration("hello-wait", server.DefaultHelloWait, "how long to wait for the first bytes of a connection")
	window := fs.Uint64("window", replay.DefaultWindow, "timestamp window, seconds")
	capacity := fs.Int("replay-capacity", replay.DefaultCapacity, "replay filter entries")
	stateDir := fs.String("state-dir", "", "directory of the replay journal: the replay filter outlives the process "+
		"(without it, a hello recorded before a restart can be accepted after it: that risk is taken)")
	noUDP := fs.Bool("no-udp", false, "refuse every UDP association with reply 02 (SPEC.md 15.3)")
	udpPerUser := fs.Int("udp-associations-per-user", server.DefaultUDPPerUser,
		"UDP associations a user may hold at once; the next is refused with reply 02")
	udpIdle := fs.Duration("udp-idle-timeout", server.DefaultUDPIdleTimeout,
		"end (CLOSE) a UDP association that carried no datagram either way for this long")
	sf := addShapeFlags(fs)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	sh, err := sf.shape("server")
	if err != nil {
		return err
	}
	if err := checkHostPort("server", "listen", *listen, true); err != nil {
		return err
	}
	if err := checkHostPort("server", "fallback", *fallback, false); err != nil {
		return err
	}
	ids, err := parseUsers("server", users)
	if err != nil {
		return err
	}
	cfg := decide.Config{Users: ids, Window: *window, Shape: sh}
	if len(profiles) == 0 {
		profiles = multi{decide.ProfileV2}
	}
	for _, p := range profiles {
		switch p {
		case decide.ProfileV2:
			cfg.AcceptV2 = true
		case decide.ProfileV1:
			cfg.AcceptV1 = true
		default:
			return usageError{fmt.Sprintf("server: unknown --profile %q (v2 or v1-compat)", p)}
		}
	}
	if *helloWait <= 0 || *capacity < 1 || *window == 0 {
		return usageError{"server: --hello-wait, --window and --replay-capacity must be positive"}
	}
	if *udpPerUser < 1 || *udpIdle <= 0 {
		// No UDP at all is --no-udp, said so rather than a cap of 0.
		return usageError{"server: --udp-associations-per-user and --udp-idle-timeout must be positive (--no-udp turns UDP off)"}
	}
	cfg.Filter = replay.New(*capacity, *window)
	logger := log.New(stderr, "", log.LstdFlags)
	if *stateDir != "" {
		// The journal of accepted hellos (SPEC.md 12.3): read back into the
		// filter (expired entries skipped), then appended to before every
		// server hello.
		j, recs, err := replay.OpenJournal(*stateDir, *window)
		if err != nil {
			return err
		}
		defer j.Close()
		loaded, skipped := replay.Load(cfg.Filter, recs, time.Now().Unix())
		cfg.Filter.SetJournal(j)
		logger.Printf("server: replay journal %s: %d entries loaded, %d skipped (expired or repeated)", *stateDir, loaded, skipped)
	}
	srv := server.New(server.Config{Decider: decide.New(cfg), Fallback: *fallback, HelloWait: *helloWait, Log: logger,
		NoUDP: *noUDP, UDPPerUser: *udpPerUser, UDPIdleTimeout: *udpIdle})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "server listening on %s\n", ln.Addr())
	if cfg.AcceptV2 {
		logger.Printf("server: v2 first flight %s (%d bytes)", sh.Kind, sh.Size())
	}
	if *noUDP {
		logger.Printf("server: UDP associations refused (--no-udp)")
	} else {
		logger.Printf("server: UDP: at most %d associations per user, idle timeout %v", *udpPerUser, *udpIdle)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	err = srv.Serve(ctx, ln)
	if ctx.Err() != nil {
		logger.Printf("server: shutting down")
		return nil
	}
	return err
}

func runClient(args []string, stderr io.Writer) error {
	fs := newFlagSet("client", stderr)
	srvAddr := fs.String("server", "", "HOST:PORT of the Reflex server")
	socks := fs.String("socks", "", "HOST:PORT for the local SOCKS5 server")
	profile := fs.String("profile", decide.ProfileV2, "v2 or v1-compat")
	var users multi
	fs.Var(&users, "user", "the user UUID")
	sf := addShapeFlags(fs)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	sh, err := sf.shape("client")
	if err != nil {
		return err
	}
	if err := checkHostPort("client", "server", *srvAddr, false); err != nil {
		return err
	}
	if err := checkHostPort("client", "socks", *socks, true); err != nil {
		return err
	}
	ids, err := parseUsers("client", users)
	if err != nil {
		return err
	}
	if len(ids) != 1 {
		return usageError{"client: exactly one --user is required"}
	}
	if *profile != decide.ProfileV2 && *profile != decide.ProfileV1 {
		return usageError{fmt.Sprintf("client: unknown --profile %q (v2 or v1-compat)", *profile)}
	}
	logger := log.New(stderr, "", log.LstdFlags)
	cl := client.New(client.Config{Server: *srvAddr, User: ids[0], Profile: *profile, Log: logger, Shape: sh})
	ln, err := net.Listen("tcp", *socks)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "socks listening on %s\n", ln.Addr())
	ctx, stop := signalContext()
	defer stop()
	err = cl.Serve(ctx, ln)
	if ctx.Err() != nil {
		logger.Printf("client: shutting down")
		return nil
	}
	return err
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "reflex-go: check: at least one FILE is required")
		return 2
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			fmt.Fprintf(stderr, "reflex-go: check: unknown flag %q\n", a)
			return 2
		}
	}
	r := vectors.CheckFiles(args, stdout)
	fmt.Fprintf(stdout, "%d passed, %d failed\n", r.Passed, r.Failed)
	if r.Failed == 0 && r.Passed > 0 {
		return 0
	}
	return 1
}
