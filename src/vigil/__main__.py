from vigil.cli.main import main

if __name__ == "__main__":  # python -m vigil
    main()
