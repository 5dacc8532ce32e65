from routecli.entry import main

main()
