complete -c rbgpd -s c -l config -d 'Configuration file' -r -F
complete -c rbgpd -l check-config -d 'Check a configuration file and exit (0 when it is valid)' -r -F
complete -c rbgpd -l record -d 'Record every input and output of the routing core in FILE (JSON lines), for a replay as a test. It grows with every UPDATE received' -r -F
complete -c rbgpd -l replay -d 'Replay a recording (`--record`) into a fresh core, check that it gives the same outputs, and exit (0 when it does)' -r -F
complete -c rbgpd -s h -l help -d 'Print help'
complete -c rbgpd -s V -l version -d 'Print version'
