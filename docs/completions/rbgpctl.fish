# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rbgpctl_global_optspecs
    string join \n socket= json h/help V/version
end

function __fish_rbgpctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rbgpctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rbgpctl_using_subcommand
    set -l cmd (__fish_rbgpctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rbgpctl -n "__fish_rbgpctl_needs_command" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_needs_command" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_needs_command" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_needs_command" -s V -l version -d 'Print version'
complete -c rbgpctl -n "__fish_rbgpctl_needs_command" -f -a "show" -d 'Show peers, routes, the FIB or a summary'
complete -c rbgpctl -n "__fish_rbgpctl_needs_command" -f -a "reload" -d 'Re-read the config file and apply it'
complete -c rbgpctl -n "__fish_rbgpctl_needs_command" -f -a "peer" -d 'Reset, shut down or enable a peer'
complete -c rbgpctl -n "__fish_rbgpctl_needs_command" -f -a "watch" -d 'Stream events (peer state changes, route changes, FIB writes)'
complete -c rbgpctl -n "__fish_rbgpctl_needs_command" -f -a "explain" -d 'Why a prefix is routed as it is'
complete -c rbgpctl -n "__fish_rbgpctl_needs_command" -f -a "top" -d 'A live view of the router'
complete -c rbgpctl -n "__fish_rbgpctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and not __fish_seen_subcommand_from peers neighbors peer neighbor routes route fib bfd clusters summary help" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and not __fish_seen_subcommand_from peers neighbors peer neighbor routes route fib bfd clusters summary help" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and not __fish_seen_subcommand_from peers neighbors peer neighbor routes route fib bfd clusters summary help" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and not __fish_seen_subcommand_from peers neighbors peer neighbor routes route fib bfd clusters summary help" -f -a "peers" -d 'All peers with prefix counters per family'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and not __fish_seen_subcommand_from peers neighbors peer neighbor routes route fib bfd clusters summary help" -f -a "neighbors" -d 'All peers with prefix counters per family'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and not __fish_seen_subcommand_from peers neighbors peer neighbor routes route fib bfd clusters summary help" -f -a "peer" -d 'One peer in detail'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and not __fish_seen_subcommand_from peers neighbors peer neighbor routes route fib bfd clusters summary help" -f -a "neighbor" -d 'One peer in detail'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and not __fish_seen_subcommand_from peers neighbors peer neighbor routes route fib bfd clusters summary help" -f -a "routes" -d 'Loc-RIB routes'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and not __fish_seen_subcommand_from peers neighbors peer neighbor routes route fib bfd clusters summary help" -f -a "route" -d 'Loc-RIB routes'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and not __fish_seen_subcommand_from peers neighbors peer neighbor routes route fib bfd clusters summary help" -f -a "fib" -d 'Routes rbgpd installs in the kernel'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and not __fish_seen_subcommand_from peers neighbors peer neighbor routes route fib bfd clusters summary help" -f -a "bfd" -d 'BFD sessions: state, discriminators, intervals, counters'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and not __fish_seen_subcommand_from peers neighbors peer neighbor routes route fib bfd clusters summary help" -f -a "clusters" -d 'Clusters: nodes, End-of-RIB, restarts, service ECMP widths'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and not __fish_seen_subcommand_from peers neighbors peer neighbor routes route fib bfd clusters summary help" -f -a "summary" -d 'Router summary'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and not __fish_seen_subcommand_from peers neighbors peer neighbor routes route fib bfd clusters summary help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from peers" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from peers" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from peers" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from neighbors" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from neighbors" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from neighbors" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from peer" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from peer" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from peer" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from neighbor" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from neighbor" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from neighbor" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from routes" -l peer -d 'Only paths from this peer' -r
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from routes" -l family -d 'Only this address family' -r -f -a "ipv4\t'IPv4 unicast'
ipv6\t'IPv6 unicast'"
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from routes" -l table -d 'Only the routes written to this kernel table (a neighbor\'s `table`, else `[fib] table`)' -r
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from routes" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from routes" -l best -d 'Only the best path and the other members of its ECMP (multipath) group (the paths in the kernel)'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from routes" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from routes" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from route" -l peer -d 'Only paths from this peer' -r
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from route" -l family -d 'Only this address family' -r -f -a "ipv4\t'IPv4 unicast'
ipv6\t'IPv6 unicast'"
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from route" -l table -d 'Only the routes written to this kernel table (a neighbor\'s `table`, else `[fib] table`)' -r
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from route" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from route" -l best -d 'Only the best path and the other members of its ECMP (multipath) group (the paths in the kernel)'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from route" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from route" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from fib" -l table -d 'Only the routes of this kernel table (`[fib] table`, or a neighbor\'s `table`)' -r
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from fib" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from fib" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from fib" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from bfd" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from bfd" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from bfd" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from clusters" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from clusters" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from clusters" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from summary" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from summary" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from summary" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from help" -f -a "peers" -d 'All peers with prefix counters per family'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from help" -f -a "peer" -d 'One peer in detail'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from help" -f -a "routes" -d 'Loc-RIB routes'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from help" -f -a "fib" -d 'Routes rbgpd installs in the kernel'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from help" -f -a "bfd" -d 'BFD sessions: state, discriminators, intervals, counters'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from help" -f -a "clusters" -d 'Clusters: nodes, End-of-RIB, restarts, service ECMP widths'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from help" -f -a "summary" -d 'Router summary'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand show; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand reload" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand reload" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand reload" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and not __fish_seen_subcommand_from reset shutdown enable help" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and not __fish_seen_subcommand_from reset shutdown enable help" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and not __fish_seen_subcommand_from reset shutdown enable help" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and not __fish_seen_subcommand_from reset shutdown enable help" -f -a "reset" -d 'Close the session (Cease, Administrative Reset); it comes back. A dynamic peer keeps its entry and history while it reconnects'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and not __fish_seen_subcommand_from reset shutdown enable help" -f -a "shutdown" -d 'Close the session (Cease, Administrative Shutdown) and keep it down. A dynamic peer stays listed and its reconnects are refused until `peer enable`'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and not __fish_seen_subcommand_from reset shutdown enable help" -f -a "enable" -d 'Allow a shut down session again (a dynamic peer may reconnect)'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and not __fish_seen_subcommand_from reset shutdown enable help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from reset" -l message -d 'Text sent to the peer (RFC 9003 shutdown communication)' -r
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from reset" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from reset" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from reset" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from shutdown" -l message -d 'Text sent to the peer (RFC 9003 shutdown communication)' -r
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from shutdown" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from shutdown" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from shutdown" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from enable" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from enable" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from help" -f -a "reset" -d 'Close the session (Cease, Administrative Reset); it comes back. A dynamic peer keeps its entry and history while it reconnects'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from help" -f -a "shutdown" -d 'Close the session (Cease, Administrative Shutdown) and keep it down. A dynamic peer stays listed and its reconnects are refused until `peer enable`'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from help" -f -a "enable" -d 'Allow a shut down session again (a dynamic peer may reconnect)'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand peer; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand watch" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand watch" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand watch" -s h -l help -d 'Print help'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand explain" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand explain" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand explain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand top" -l interval -d 'Seconds between samples' -r
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand top" -l width -d 'Width of the `--once` frame (default: $COLUMNS, else 120)' -r
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand top" -l height -d 'Height of the `--once` frame (default: $LINES, else 30)' -r
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand top" -l socket -d 'Control socket of rbgpd' -r -F
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand top" -l once -d 'Print one frame of the sessions view as text and exit (for scripts; no terminal needed)'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand top" -l json -d 'Print rbgpd\'s answer as JSON instead of a table'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand top" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and not __fish_seen_subcommand_from show reload peer watch explain top help" -f -a "show" -d 'Show peers, routes, the FIB or a summary'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and not __fish_seen_subcommand_from show reload peer watch explain top help" -f -a "reload" -d 'Re-read the config file and apply it'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and not __fish_seen_subcommand_from show reload peer watch explain top help" -f -a "peer" -d 'Reset, shut down or enable a peer'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and not __fish_seen_subcommand_from show reload peer watch explain top help" -f -a "watch" -d 'Stream events (peer state changes, route changes, FIB writes)'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and not __fish_seen_subcommand_from show reload peer watch explain top help" -f -a "explain" -d 'Why a prefix is routed as it is'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and not __fish_seen_subcommand_from show reload peer watch explain top help" -f -a "top" -d 'A live view of the router'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and not __fish_seen_subcommand_from show reload peer watch explain top help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and __fish_seen_subcommand_from show" -f -a "peers" -d 'All peers with prefix counters per family'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and __fish_seen_subcommand_from show" -f -a "peer" -d 'One peer in detail'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and __fish_seen_subcommand_from show" -f -a "routes" -d 'Loc-RIB routes'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and __fish_seen_subcommand_from show" -f -a "fib" -d 'Routes rbgpd installs in the kernel'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and __fish_seen_subcommand_from show" -f -a "bfd" -d 'BFD sessions: state, discriminators, intervals, counters'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and __fish_seen_subcommand_from show" -f -a "clusters" -d 'Clusters: nodes, End-of-RIB, restarts, service ECMP widths'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and __fish_seen_subcommand_from show" -f -a "summary" -d 'Router summary'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and __fish_seen_subcommand_from peer" -f -a "reset" -d 'Close the session (Cease, Administrative Reset); it comes back. A dynamic peer keeps its entry and history while it reconnects'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and __fish_seen_subcommand_from peer" -f -a "shutdown" -d 'Close the session (Cease, Administrative Shutdown) and keep it down. A dynamic peer stays listed and its reconnects are refused until `peer enable`'
complete -c rbgpctl -n "__fish_rbgpctl_using_subcommand help; and __fish_seen_subcommand_from peer" -f -a "enable" -d 'Allow a shut down session again (a dynamic peer may reconnect)'
