# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rbgpd_global_optspecs
    string join \n c/config= check-config= record= replay= h/help V/version
end

function __fish_rbgpd_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rbgpd_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rbgpd_using_subcommand
    set -l cmd (__fish_rbgpd_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rbgpd -n "__fish_rbgpd_needs_command" -s c -l config -d 'Configuration file' -r -F
complete -c rbgpd -n "__fish_rbgpd_needs_command" -l check-config -d 'Check a configuration file and exit (0 when it is valid)' -r -F
complete -c rbgpd -n "__fish_rbgpd_needs_command" -l record -d 'Record every input and output of the routing core in FILE (JSON lines), for a replay as a test. It grows with every UPDATE received' -r -F
complete -c rbgpd -n "__fish_rbgpd_needs_command" -l replay -d 'Replay a recording (`--record`) into a fresh core, check that it gives the same outputs, and exit (0 when it does)' -r -F
complete -c rbgpd -n "__fish_rbgpd_needs_command" -s h -l help -d 'Print help'
complete -c rbgpd -n "__fish_rbgpd_needs_command" -s V -l version -d 'Print version'
complete -c rbgpd -n "__fish_rbgpd_needs_command" -f -a "migrate" -d 'Translate a BIRD 2 configuration into rbgpd\'s (on standard output)'
complete -c rbgpd -n "__fish_rbgpd_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rbgpd -n "__fish_rbgpd_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rbgpd -n "__fish_rbgpd_using_subcommand help; and not __fish_seen_subcommand_from migrate help" -f -a "migrate" -d 'Translate a BIRD 2 configuration into rbgpd\'s (on standard output)'
complete -c rbgpd -n "__fish_rbgpd_using_subcommand help; and not __fish_seen_subcommand_from migrate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
