DROP TABLE signature_replay;
