// Command pulumi-language-nodejs is landform's own, minimal Node.js language
// host for the Pulumi CLI.
//
// Pulumi's own language host lives in a Go module of its own
// (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) that the
// Go module proxy reachable from our machines refuses to serve, so
// `landform tools` builds this one instead, from the same sdk/v3 module the
// CLI is built from. It serves the parts of the LanguageRuntime service that
// running programs and policy packs needs:
//
//   - Run: starts `node @pulumi/pulumi/cmd/run` (resolved from the program's
//     own node_modules) with the engine's arguments and configuration;
//   - RunPlugin: starts `@pulumi/pulumi/cmd/run-plugin`, or for a policy pack
//     (kind "analyzer") `@pulumi/pulumi/cmd/run-policy-pack` behind the SDK's
//     PolicyProxy, as `pulumi preview --policy-pack DIR` needs;
//   - Handshake, GetPluginInfo, GetRequiredPackages (none: plugins are never
//     acquired automatically here), About and Cancel.
//
// Everything else (code generation, `pulumi new`, `pulumi install`, packing)
// answers Unimplemented. Synchronous invokes (the SDK's `--sync` pipes) are not
// offered; the Node SDK runs without them.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/shlex"
	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	runModule        = "@pulumi/pulumi/cmd/run"
	runPluginModule  = "@pulumi/pulumi/cmd/run-plugin"
	runPolicyModule  = "@pulumi/pulumi/cmd/run-policy-pack"
	analyzerKind     = "analyzer"
	userToldExitCode = 32 // the Node SDK's "already printed an actionable message" exit code
)

func main() {
	tracing := flag.String("tracing", "", "tracing endpoint, handed on to the Node.js program")
	runtimeName := flag.String("runtime", "nodejs", "only nodejs is supported")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	logging.InitLogging(false, 0, false)
	if *runtimeName != "nodejs" {
		cmdutil.Exit(fmt.Errorf("unsupported runtime %q: this language host runs only nodejs", *runtimeName))
	}

	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	cancelServe := make(chan bool)
	go func() {
		<-ctx.Done()
		stop()
		close(cancelServe)
	}()

	// Exit when the engine goes away, as Pulumi's own plugins do.
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start the engine health check: %w", err))
		}
	}

	h := newHost(engineAddress, *tracing)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelServe,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start the language host server: %w", err))
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host server stopped: %w", err))
	}
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string

	// Cancelled by the Cancel RPC: interrupts every program still running.
	cancelCtx  context.Context
	cancelFunc context.CancelFunc
}

func newHost(engineAddress, tracing string) *host {
	ctx, cancel := context.WithCancel(context.Background())
	return &host{engineAddress: engineAddress, tracing: tracing, cancelCtx: ctx, cancelFunc: cancel}
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// options are the `runtime.options` of Pulumi.yaml that this host honours.
type options struct {
	typescript bool
	tsconfig   string
	nodeargs   []string
}

func parseOptions(raw map[string]any) (options, error) {
	opts := options{typescript: true}
	if v, ok := raw["typescript"]; ok {
		b, ok := v.(bool)
		if !ok {
			return opts, errors.New("runtime option typescript must be a boolean")
		}
		opts.typescript = b
	}
	if v, ok := raw["tsconfig"]; ok {
		s, ok := v.(string)
		if !ok {
			return opts, errors.New("runtime option tsconfig must be a string")
		}
		opts.tsconfig = s
	}
	if v, ok := raw["nodeargs"]; ok {
		s, ok := v.(string)
		if !ok {
			return opts, errors.New("runtime option nodeargs must be a string")
		}
		args, err := shlex.Split(s)
		if err != nil {
			return opts, fmt.Errorf("runtime option nodeargs: %w", err)
		}
		opts.nodeargs = args
	}
	return opts, nil
}

func (o options) env() []string {
	var env []string
	if o.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if o.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+o.tsconfig)
	}
	return env
}

// resolveModule asks node, started in dir, where a module of the program's
// own dependencies lives, so the program's @pulumi/pulumi is the one used.
func resolveModule(ctx context.Context, node, dir, module string) (string, error) {
	script := fmt.Sprintf(`try { console.log(require.resolve(%q)); } catch (e) { `+
		`console.error(e.code === "MODULE_NOT_FOUND" ? %q : e.message); process.exit(1); }`,
		module, "could not find "+module+" from "+dir+": install @pulumi/pulumi in the program (npm install)")
	cmd := exec.CommandContext(ctx, node, "-e", script)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && len(exitErr.Stderr) > 0 {
			return "", errors.New(strings.TrimSpace(string(exitErr.Stderr)))
		}
		return "", fmt.Errorf("could not run node to find %s: %w", module, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func (h *host) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	h.engineAddress = req.GetEngineAddress()
	h.mu.Unlock()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// GetRequiredPackages reports no packages: automatic plugin acquisition is
// off on our machines, and the engine loads the providers a program uses
// (the dynamic provider among them) from PATH when it registers resources.
func (h *host) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("could not find node on PATH")
	}
	resp := &pulumirpc.AboutResponse{Executable: node, Metadata: map[string]string{"languageHost": "landform"}}
	if out, err := exec.CommandContext(ctx, node, "--version").Output(); err == nil {
		resp.Version = strings.TrimSpace(string(out))
	}
	return resp, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancelFunc()
	return &emptypb.Empty{}, nil
}

// runArgs builds the arguments of `node @pulumi/pulumi/cmd/run`.
func runArgs(req *pulumirpc.RunRequest, runPath, engine, tracing string, nodeargs []string) []string {
	args := append([]string{}, nodeargs...)
	args = append(args, runPath)
	flagIf := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	info := req.GetInfo()
	flagIf("monitor", req.GetMonitorAddress())
	flagIf("engine", engine)
	flagIf("organization", req.GetOrganization())
	flagIf("project", req.GetProject())
	flagIf("root-directory", info.GetRootDirectory())
	flagIf("stack", req.GetStack())
	flagIf("pwd", programDir(req))
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flagIf("parallel", strconv.Itoa(int(req.GetParallel())))
	flagIf("tracing", tracing)
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = req.GetProgram()
	}
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	return append(args, req.GetArgs()...)
}

func programDir(req *pulumirpc.RunRequest) string {
	if dir := req.GetInfo().GetProgramDirectory(); dir != "" {
		return dir
	}
	return req.GetPwd()
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	fail := func(err error) (*pulumirpc.RunResponse, error) {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fail(errors.New("could not find node on PATH"))
	}
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return fail(err)
	}
	module := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
	if module == "" {
		module = runModule
	}
	runPath, err := resolveModule(ctx, node, programDir(req), module)
	if err != nil {
		return fail(err)
	}
	// The Node SDK reads keys of both forms (pkg:key and pkg:config:key).
	config, err := json.Marshal(nonNilMap(req.GetConfig()))
	if err != nil {
		return fail(fmt.Errorf("could not encode the configuration: %w", err))
	}
	secretKeys, err := json.Marshal(nonNilSlice(req.GetConfigSecretKeys()))
	if err != nil {
		return fail(fmt.Errorf("could not encode the secret configuration keys: %w", err))
	}

	runCtx, cancel := context.WithCancel(h.cancelCtx)
	defer cancel()
	stopOnDone := context.AfterFunc(ctx, cancel)
	defer stopOnDone()

	cmd := exec.CommandContext(runCtx, node, runArgs(req, runPath, h.engine(), h.tracing, opts.nodeargs)...)
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))
	cmd.Env = append(cmd.Env, opts.env()...)
	// Node may switch its stdio to non-blocking mode: hand it pipes, not our
	// own descriptors (wrapping hides the *os.File from exec).
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			switch code := exitErr.ExitCode(); code {
			case userToldExitCode:
				return &pulumirpc.RunResponse{Bail: true}, nil
			case -1:
				return fail(fmt.Errorf("Program exited unexpectedly: %w", exitErr))
			default:
				return fail(fmt.Errorf("Program exited with non-zero exit code: %d", code))
			}
		}
		return fail(fmt.Errorf("could not run the Node.js program: %w", err))
	}
	return &pulumirpc.RunResponse{}, nil
}

func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	node, err := exec.LookPath("node")
	if err != nil {
		return errors.New("could not find node on PATH")
	}
	info := req.GetInfo()
	opts, err := parseOptions(info.GetOptions().AsMap())
	if err != nil {
		return err
	}
	dir := info.GetProgramDirectory()
	isPolicyPack := req.GetKind() == analyzerKind
	module := runPluginModule
	if isPolicyPack {
		module = runPolicyModule
	} else if m := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH"); m != "" {
		module = m
	}
	runPath, err := resolveModule(ctx, node, dir, module)
	if err != nil {
		return err
	}

	args := []string{runPath}
	args = append(args, opts.nodeargs...)
	if isPolicyPack {
		// Policy packs take the program directory last.
		args = append(args, req.GetArgs()...)
		args = append(args, dir)
	} else {
		args = append(args, dir)
		args = append(args, req.GetArgs()...)
	}
	env := append(append([]string{}, req.GetEnv()...), opts.env()...)

	// A policy pack learns its stack from environment variables; the SDK's
	// proxy answers the engine's ConfigureStack first, then forwards to it.
	var proxy *sdk.PolicyProxy
	if isPolicyPack {
		proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("could not start the policy pack proxy: %w", err)
		}
		stack, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get the stack configuration: %w", err)
		}
		if stack != nil {
			setIf := func(k, v string) {
				if v != "" {
					env = append(env, k+"="+v)
				}
			}
			setIf("PULUMI_NODEJS_ORGANIZATION", stack.GetOrganization())
			setIf("PULUMI_NODEJS_PROJECT", stack.GetProject())
			setIf("PULUMI_NODEJS_STACK", stack.GetStack())
			setIf("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(stack.GetDryRun()))
			if stack.GetConfig() != nil {
				config, err := json.Marshal(stack.GetConfig())
				if err != nil {
					return fmt.Errorf("could not encode the stack configuration: %w", err)
				}
				setIf("PULUMI_CONFIG", string(config))
			}
		}
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = req.GetPwd()
	if isPolicyPack {
		cmd.Dir = dir
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start node for plugin %s: %w", req.GetName(), err)
	}
	if proxy != nil {
		err = proxy.Attach(ctx, cmd)
	} else {
		err = cmd.Wait()
	}
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return fmt.Errorf("Program exited with non-zero exit code: %d", exitErr.ExitCode())
		}
		return err
	}
	return closer.Close()
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
