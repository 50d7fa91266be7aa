from pulse_cli.main import main

main()
