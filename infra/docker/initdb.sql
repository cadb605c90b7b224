-- Databases of the docker-compose stack: the read models and the registry's own storage.
CREATE DATABASE chat;
CREATE DATABASE apicurio;
