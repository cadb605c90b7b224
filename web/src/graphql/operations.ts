import { graphql } from '../generated/gql.ts';

// Every operation the web client sends, in one file, typed by GraphQL Code Generator from the
// committed SDL (`npm run codegen -w @chat/web` after changing one).

export const SESSION_FIELDS = graphql(`
  fragment SessionFields on Session {
    userId
    username
    accessToken
    accessTokenExpiresAt
    refreshToken
    refreshTokenExpiresAt
  }
`);

export const SIGN_UP = graphql(`
  mutation SignUp($username: String!, $password: String!, $displayName: String, $commandId: ID) {
    signUp(username: $username, password: $password, displayName: $displayName, commandId: $commandId) {
      __typename
      ... on Session {
        ...SessionFields
      }
      ... on CommandError {
        code
        message
        retryAfterSeconds
      }
    }
  }
`);

export const LOG_IN = graphql(`
  mutation LogIn($username: String!, $password: String!) {
    logIn(username: $username, password: $password) {
      __typename
      ... on Session {
        ...SessionFields
      }
      ... on CommandError {
        code
        message
        retryAfterSeconds
      }
    }
  }
`);

export const REFRESH_TOKEN = graphql(`
  mutation RefreshToken($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) {
      __typename
      ... on Session {
        ...SessionFields
      }
      ... on CommandError {
        code
        message
      }
    }
  }
`);

export const LOG_OUT = graphql(`
  mutation LogOut {
    logOut {
      __typename
    }
  }
`);

export const USER_FIELDS = graphql(`
  fragment UserFields on User {
    id
    username
    displayName
    avatarUrl
  }
`);

export const ME = graphql(`
  query Me {
    me {
      ...UserFields
      bio
    }
  }
`);

export const UPDATE_PROFILE = graphql(`
  mutation UpdateProfile($displayName: String, $avatarUrl: String, $bio: String) {
    updateProfile(displayName: $displayName, avatarUrl: $avatarUrl, bio: $bio) {
      __typename
      ... on Profile {
        userId
        displayName
        avatarUrl
        bio
      }
      ... on CommandError {
        code
        message
      }
    }
  }
`);

export const ATTACHMENT_FIELDS = graphql(`
  fragment AttachmentFields on Attachment {
    id
    name
    contentType
    size
    kind
    width
    height
    placeholder
    url
    previewUrl
    thumbnailUrl
  }
`);

export const MESSAGE_FIELDS = graphql(`
  fragment MessageFields on Message {
    id
    roomId
    sequence
    cursor
    body
    deleted
    editedAt
    sentAt
    senderId
    clientMessageId
    sender {
      ...UserFields
    }
    attachments {
      ...AttachmentFields
    }
    reactions {
      emoji
      count
      me
    }
    replyTo {
      id
      body
      deleted
      sender {
        id
        displayName
      }
      attachments {
        id
        name
      }
    }
  }
`);

export const ROOM_SUMMARY = graphql(`
  fragment RoomSummary on Room {
    id
    name
    topic
    kind
    visibility
    myRole
    unreadCount
    unreadMentions
    lastSequence
    lastMessage {
      id
      body
      deleted
      sentAt
      sender {
        id
        displayName
      }
      attachments {
        id
        name
      }
    }
  }
`);

export const MY_ROOMS = graphql(`
  query MyRooms($first: Int) {
    myRooms(first: $first) {
      edges {
        node {
          ...RoomSummary
          members(first: 2) {
            edges {
              node {
                userId
                user {
                  ...UserFields
                }
              }
            }
          }
        }
      }
    }
    myInvitations {
      invitedAt
      invitedBy {
        id
        displayName
      }
      room {
        id
        name
        topic
      }
    }
  }
`);

export const PUBLIC_ROOMS = graphql(`
  query PublicRooms($search: String, $first: Int) {
    publicRooms(search: $search, first: $first) {
      edges {
        node {
          id
          name
          topic
          myRole
        }
      }
    }
  }
`);

export const USERS = graphql(`
  query Users($search: String!) {
    users(search: $search) {
      ...UserFields
      presence {
        status
      }
    }
  }
`);

export const ROOM_HISTORY = graphql(`
  query RoomHistory($roomId: ID!, $last: Int, $before: String) {
    room(id: $roomId) {
      ...RoomSummary
      eventCursor
      messages(last: $last, before: $before) {
        edges {
          cursor
          node {
            ...MessageFields
          }
        }
        pageInfo {
          startCursor
          hasPreviousPage
        }
      }
    }
  }
`);

export const ROOM_MEMBERS = graphql(`
  query RoomMembers($roomId: ID!, $first: Int) {
    room(id: $roomId) {
      id
      members(first: $first) {
        edges {
          node {
            userId
            role
            user {
              ...UserFields
              presence {
                status
              }
            }
          }
        }
      }
    }
  }
`);

export const ROOM_EVENTS = graphql(`
  subscription RoomEvents($roomId: ID!, $after: String) {
    roomEvents(roomId: $roomId, after: $after) {
      __typename
      ... on MessageSentEvent {
        cursor
        revision
        message {
          ...MessageFields
        }
      }
      ... on MessageEditedEvent {
        cursor
        revision
        message {
          ...MessageFields
        }
      }
      ... on MessageDeletedEvent {
        cursor
        revision
        message {
          ...MessageFields
        }
      }
      ... on ReactionAddedEvent {
        cursor
        revision
        message {
          id
          reactions {
            emoji
            count
            me
          }
        }
      }
      ... on ReactionRemovedEvent {
        cursor
        revision
        message {
          id
          reactions {
            emoji
            count
            me
          }
        }
      }
      ... on MemberJoinedEvent {
        cursor
        revision
        userId
      }
      ... on MemberLeftEvent {
        cursor
        revision
        userId
      }
      ... on MemberRemovedEvent {
        cursor
        revision
        userId
      }
      ... on MemberErasedEvent {
        cursor
        revision
        userId
      }
      ... on RoomHistoryExpiredEvent {
        cursor
        revision
        before
      }
      ... on MemberInvitedEvent {
        cursor
        revision
      }
      ... on MemberRoleChangedEvent {
        cursor
        revision
        userId
        role
      }
      ... on RoomRenamedEvent {
        cursor
        revision
        name
      }
      ... on RoomTopicChangedEvent {
        cursor
        revision
        topic
      }
      ... on ReadMarkerMovedEvent {
        cursor
        revision
      }
      ... on RoomCreatedEvent {
        cursor
        revision
      }
    }
  }
`);

export const MY_EVENTS = graphql(`
  subscription MyEvents {
    myEvents {
      __typename
      ... on UnreadChangedEvent {
        room {
          id
          unreadCount
          unreadMentions
          lastSequence
          lastMessage {
            id
            body
            deleted
            sentAt
            sender {
              id
              displayName
            }
            attachments {
              id
              name
            }
          }
        }
      }
      ... on RoomJoinedEvent {
        roomId
      }
      ... on RoomLeftEvent {
        roomId
      }
      ... on AddedToRoomEvent {
        roomId
      }
      ... on InvitedEvent {
        roomId
      }
    }
  }
`);

export const TYPING = graphql(`
  subscription Typing($roomId: ID!) {
    typing(roomId: $roomId) {
      roomId
      users {
        id
        displayName
      }
    }
  }
`);

export const SEARCH_MESSAGES = graphql(`
  query SearchMessages($query: String!, $first: Int) {
    searchMessages(query: $query, first: $first) {
      edges {
        node {
          id
          roomId
          body
          sentAt
          sender {
            id
            displayName
          }
          room {
            id
            name
          }
        }
      }
    }
  }
`);

export const REQUEST_UPLOAD = graphql(`
  mutation RequestUpload($name: String!, $size: Int!, $contentType: String!) {
    requestUpload(name: $name, size: $size, contentType: $contentType) {
      __typename
      ... on UploadTicket {
        uploadId
        url
        method
        contentType
        expiresAt
      }
      ... on CommandError {
        code
        message
        retryAfterSeconds
      }
    }
  }
`);

export const SEND_MESSAGE = graphql(`
  mutation SendMessage($roomId: ID!, $body: String!, $clientMessageId: ID!, $replyTo: ID, $attachments: [ID!]) {
    sendMessage(roomId: $roomId, body: $body, clientMessageId: $clientMessageId, replyTo: $replyTo, attachments: $attachments) {
      __typename
      ... on MessageAccepted {
        messageId
      }
      ... on CommandError {
        code
        message
        retryAfterSeconds
      }
    }
  }
`);

export const EDIT_MESSAGE = graphql(`
  mutation EditMessage($roomId: ID!, $messageId: ID!, $body: String!, $commandId: ID) {
    editMessage(roomId: $roomId, messageId: $messageId, body: $body, commandId: $commandId) {
      __typename
      ... on CommandError {
        code
        message
      }
    }
  }
`);

export const DELETE_MESSAGE = graphql(`
  mutation DeleteMessage($roomId: ID!, $messageId: ID!, $commandId: ID) {
    deleteMessage(roomId: $roomId, messageId: $messageId, commandId: $commandId) {
      __typename
      ... on CommandError {
        code
        message
      }
    }
  }
`);

export const ADD_REACTION = graphql(`
  mutation AddReaction($roomId: ID!, $messageId: ID!, $emoji: String!, $commandId: ID) {
    addReaction(roomId: $roomId, messageId: $messageId, emoji: $emoji, commandId: $commandId) {
      __typename
      ... on CommandError {
        code
        message
      }
    }
  }
`);

export const REMOVE_REACTION = graphql(`
  mutation RemoveReaction($roomId: ID!, $messageId: ID!, $emoji: String!, $commandId: ID) {
    removeReaction(roomId: $roomId, messageId: $messageId, emoji: $emoji, commandId: $commandId) {
      __typename
      ... on CommandError {
        code
        message
      }
    }
  }
`);

export const MARK_READ = graphql(`
  mutation MarkRead($roomId: ID!, $upTo: String!) {
    markRead(roomId: $roomId, upTo: $upTo) {
      __typename
    }
  }
`);

export const SET_TYPING = graphql(`
  mutation SetTyping($roomId: ID!, $typing: Boolean) {
    setTyping(roomId: $roomId, typing: $typing)
  }
`);

const ROOM_RESULT = graphql(`
  fragment RoomResultFields on RoomResult {
    __typename
    ... on RoomAccepted {
      roomId
    }
    ... on CommandError {
      code
      message
      retryAfterSeconds
    }
  }
`);
void ROOM_RESULT;

export const CREATE_ROOM = graphql(`
  mutation CreateRoom($name: String!, $topic: String, $visibility: Visibility, $commandId: ID) {
    createRoom(name: $name, topic: $topic, visibility: $visibility, commandId: $commandId) {
      ...RoomResultFields
    }
  }
`);

export const JOIN_ROOM = graphql(`
  mutation JoinRoom($roomId: ID!) {
    joinRoom(roomId: $roomId) {
      ...RoomResultFields
    }
  }
`);

export const LEAVE_ROOM = graphql(`
  mutation LeaveRoom($roomId: ID!) {
    leaveRoom(roomId: $roomId) {
      ...RoomResultFields
    }
  }
`);

export const OPEN_DIRECT = graphql(`
  mutation OpenDirect($userId: ID!, $commandId: ID) {
    openDirect(userId: $userId, commandId: $commandId) {
      ...RoomResultFields
    }
  }
`);

export const INVITE_MEMBER = graphql(`
  mutation InviteMember($roomId: ID!, $userId: ID!) {
    inviteMember(roomId: $roomId, userId: $userId) {
      ...RoomResultFields
    }
  }
`);

export const REMOVE_MEMBER = graphql(`
  mutation RemoveMember($roomId: ID!, $userId: ID!) {
    removeMember(roomId: $roomId, userId: $userId) {
      ...RoomResultFields
    }
  }
`);

export const SET_MEMBER_ROLE = graphql(`
  mutation SetMemberRole($roomId: ID!, $userId: ID!, $role: Role!) {
    setMemberRole(roomId: $roomId, userId: $userId, role: $role) {
      ...RoomResultFields
    }
  }
`);

export const SET_ROOM_TOPIC = graphql(`
  mutation SetRoomTopic($roomId: ID!, $topic: String) {
    setRoomTopic(roomId: $roomId, topic: $topic) {
      ...RoomResultFields
    }
  }
`);
