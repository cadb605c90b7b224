
      export type PossibleTypesResultData = {
  "possibleTypes": {
    "AuthResult": [
      "CommandError",
      "Session"
    ],
    "DeleteAccountResult": [
      "CommandError",
      "DeletedAccount"
    ],
    "LogOutResult": [
      "CommandError",
      "LoggedOut"
    ],
    "MessageResult": [
      "CommandError",
      "MessageAccepted"
    ],
    "MyEvent": [
      "AddedToRoomEvent",
      "InvitedEvent",
      "MentionedEvent",
      "RoomJoinedEvent",
      "RoomLeftEvent",
      "UnreadChangedEvent"
    ],
    "RequestUploadResult": [
      "CommandError",
      "UploadTicket"
    ],
    "RoomEvent": [
      "MemberErasedEvent",
      "MemberInvitedEvent",
      "MemberJoinedEvent",
      "MemberLeftEvent",
      "MemberRemovedEvent",
      "MemberRoleChangedEvent",
      "MessageDeletedEvent",
      "MessageEditedEvent",
      "MessageSentEvent",
      "ReactionAddedEvent",
      "ReactionRemovedEvent",
      "ReadMarkerMovedEvent",
      "RoomCreatedEvent",
      "RoomHistoryExpiredEvent",
      "RoomRenamedEvent",
      "RoomRetentionSetEvent",
      "RoomTopicChangedEvent"
    ],
    "RoomResult": [
      "CommandError",
      "RoomAccepted"
    ],
    "SendMessageResult": [
      "CommandError",
      "MessageAccepted"
    ],
    "UpdateProfileResult": [
      "CommandError",
      "Profile"
    ]
  }
};
      const result: PossibleTypesResultData = {
  "possibleTypes": {
    "AuthResult": [
      "CommandError",
      "Session"
    ],
    "DeleteAccountResult": [
      "CommandError",
      "DeletedAccount"
    ],
    "LogOutResult": [
      "CommandError",
      "LoggedOut"
    ],
    "MessageResult": [
      "CommandError",
      "MessageAccepted"
    ],
    "MyEvent": [
      "AddedToRoomEvent",
      "InvitedEvent",
      "MentionedEvent",
      "RoomJoinedEvent",
      "RoomLeftEvent",
      "UnreadChangedEvent"
    ],
    "RequestUploadResult": [
      "CommandError",
      "UploadTicket"
    ],
    "RoomEvent": [
      "MemberErasedEvent",
      "MemberInvitedEvent",
      "MemberJoinedEvent",
      "MemberLeftEvent",
      "MemberRemovedEvent",
      "MemberRoleChangedEvent",
      "MessageDeletedEvent",
      "MessageEditedEvent",
      "MessageSentEvent",
      "ReactionAddedEvent",
      "ReactionRemovedEvent",
      "ReadMarkerMovedEvent",
      "RoomCreatedEvent",
      "RoomHistoryExpiredEvent",
      "RoomRenamedEvent",
      "RoomRetentionSetEvent",
      "RoomTopicChangedEvent"
    ],
    "RoomResult": [
      "CommandError",
      "RoomAccepted"
    ],
    "SendMessageResult": [
      "CommandError",
      "MessageAccepted"
    ],
    "UpdateProfileResult": [
      "CommandError",
      "Profile"
    ]
  }
};
      export default result;
    