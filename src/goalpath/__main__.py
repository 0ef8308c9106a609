from goalpath.cli import main

main()
